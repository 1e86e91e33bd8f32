"""The dispatcher's view of the due index (collective.cron.dueview).

A second connection, with its own transaction manager, plays the worker's
dispatcher thread: it follows the functional layer's database through an
InvalidationLog, while the test's connection changes the queue and commits,
as requests and other workers do. After each change the view must say what
a full read of the index says, and read only what changed.
"""

from collective.cron import clock
from collective.cron.dueview import InvalidationLog
from collective.cron.interfaces import IQueue
from collective.cron.queue import _milliseconds
from datetime import timedelta
from zope.component.hooks import setSite

import pytest
import random
import transaction


class Worker:
    """The other connection: a site, its queue, and a followed view."""

    def __init__(self, db, path):
        self.manager = transaction.TransactionManager()
        self.connection = db.open(transaction_manager=self.manager)
        self.log = InvalidationLog(self.connection)
        self.view = self.log.view()
        self.path = path

    def look(self, now):
        """(due uids earliest first, next due) through the view, then as a
        full read of the same transaction says."""
        self.manager.begin()
        try:
            site = self.connection.root()["Application"].unrestrictedTraverse(self.path)
            queue = IQueue(site)
            viewed = queue._scan(now, self.view)
            full = queue._scan(now)
            return _named(viewed), _named(full)
        finally:
            self.manager.abort()

    def close(self):
        self.manager.abort()
        self.log.close()
        self.connection.close()


def _named(scan):
    jobs, upcoming = scan
    return sorted((job.begin_after, job.cron_uid) for job in jobs), upcoming


@pytest.fixture
def worker(db, functional_portal):
    setSite(functional_portal)
    transaction.commit()
    worker = Worker(db, "/".join(functional_portal.getPhysicalPath()))
    yield worker
    worker.close()


def test_the_view_follows_changes_made_elsewhere(functional_portal, worker):
    queue = IQueue(functional_portal)
    now = clock.now()
    rng = random.Random(18)
    uids = [f"cron-{number:04d}" for number in range(400)]
    for uid in uids:
        queue.schedule(uid, now + timedelta(seconds=rng.randint(-30, 300)))
    transaction.commit()
    viewed, full = worker.look(now)
    assert viewed == full
    assert worker.view.rebuilds == 1
    for step in range(60):
        action = rng.choice(["move", "move", "move", "remove", "add", "time"])
        if action == "move":
            for uid in rng.sample(sorted(queue._storage().jobs.keys()), 3):
                queue.schedule(uid, now + timedelta(seconds=rng.randint(-30, 300)))
        elif action == "remove":
            queue.remove(rng.choice(sorted(queue._storage().jobs.keys())))
        elif action == "add":
            for number in range(rng.randint(1, 40)):
                uid = f"new-{step:02d}-{number:02d}"
                queue.schedule(uid, now + timedelta(seconds=rng.randint(-30, 300)))
        else:
            now += timedelta(seconds=rng.randint(1, 20))
        transaction.commit()
        viewed, full = worker.look(now)
        assert viewed == full, f"step {step}: {action}"


def test_a_moved_job_is_one_bucket_read(functional_portal, worker):
    queue = IQueue(functional_portal)
    now = clock.now()
    for number in range(2000):
        queue.schedule(f"cron-{number:04d}", now + timedelta(hours=1, seconds=number))
    transaction.commit()
    worker.look(now)
    reads, rebuilds = worker.view.reads, worker.view.rebuilds
    queue.schedule("cron-1234", now - timedelta(seconds=1))
    transaction.commit()
    (viewed, upcoming), full = worker.look(now)
    assert (viewed, upcoming) == full
    assert [uid for _, uid in viewed] == ["cron-1234"]
    assert upcoming == _milliseconds(now + timedelta(hours=1))
    # One of the index's buckets (some hundred and fifty) read again.
    assert (worker.view.reads - reads, worker.view.rebuilds - rebuilds) == (1, 0)


def test_a_view_of_a_connection_it_cannot_follow_reads_whole(functional_portal, db):
    class Unfollowed:
        _storage = object()

    log = InvalidationLog(Unfollowed())
    assert not log.available
    view = log.view()
    queue = IQueue(functional_portal)
    now = clock.now()
    queue.schedule("one", now)
    transaction.commit()
    for _ in range(2):
        view.refresh(queue._storage().due, _milliseconds(now))
        assert view.scan(_milliseconds(now))[0] == [(_milliseconds(now), "one")]
    assert view.rebuilds == 2


def looked_at_300_crons(site, worker, now):
    """300 crons due in 5 minutes, committed; the worker looked once."""
    queue = IQueue(site)
    for number in range(300):
        queue.schedule(f"cron-{number:03d}", now + timedelta(minutes=5))
    transaction.commit()
    worker.look(now)
    return queue


def test_a_stale_view_is_caught_and_read_again(functional_portal, worker):
    now = clock.now()
    queue = looked_at_300_crons(functional_portal, worker, now)
    # The view is told nothing (as if an invalidation were lost) ...
    worker.view.told = lambda changed: None
    queue.schedule("cron-007", now - timedelta(seconds=5))
    transaction.commit()
    (viewed, _), (full, _) = worker.look(now)
    assert viewed == [] and [uid for _, uid in full] == ["cron-007"]
    # ... until its periodic full read, or a job it names turns out not to
    # be due: then it reads whole at the next look.
    queue.schedule("cron-007", now + timedelta(minutes=9))
    queue.schedule("cron-008", now - timedelta(seconds=5))
    transaction.commit()
    worker.view._due_now.add("cron-007")
    worker.look(now)
    (viewed, _), full = worker.look(now)
    assert [uid for _, uid in viewed] == ["cron-008"]


def test_many_crons_moved_earlier_do_not_hide_a_due_one(functional_portal, worker):
    queue = IQueue(functional_portal)
    now = clock.now()
    for number in range(100):
        queue.schedule(f"cron-{number:03d}", now + timedelta(hours=2))
    queue.schedule("due", now - timedelta(seconds=1))
    transaction.commit()
    worker.look(now)
    compactions = []
    heapify = worker.view._heapify
    worker.view._heapify = lambda: (compactions.append(1), heapify())
    # Each move to an earlier time leaves an entry behind in the view's
    # heap, until the heap is compacted: no look misses the due job.
    for minutes in range(119, 90, -1):
        for number in range(100):
            queue.schedule(f"cron-{number:03d}", now + timedelta(minutes=minutes))
        transaction.commit()
        (viewed, _), full = worker.look(now)
        assert [uid for _, uid in viewed] == ["due"] == [uid for _, uid in full[0]]
    assert compactions


def test_a_failed_read_is_read_again(functional_portal, worker):
    now = clock.now()
    queue = looked_at_300_crons(functional_portal, worker, now)
    queue.schedule("cron-001", now - timedelta(seconds=1))
    transaction.commit()

    def storage_gone(*args, **kwargs):
        raise ConnectionError("the storage went away")

    worker.view._read = storage_gone
    with pytest.raises(ConnectionError):
        worker.look(now)
    del worker.view._read
    (viewed, _), full = worker.look(now)
    assert [uid for _, uid in viewed] == ["cron-001"]


def test_closing_the_log_gives_the_storage_its_method_back(db):
    manager = transaction.TransactionManager()
    connection = db.open(transaction_manager=manager)
    try:
        storage = connection._storage
        log = InvalidationLog(connection)
        assert "poll_invalidations" in vars(storage)
        log.close()
        assert "poll_invalidations" not in vars(storage)
        assert callable(storage.poll_invalidations)
    finally:
        connection.close()


def test_a_look_gives_jobs_earliest_first_and_ties_in_varying_order(
    functional_portal, worker
):
    # Workers of a cluster look at the same due jobs: each reaches first for
    # a different one of those due at the same moment.
    queue = IQueue(functional_portal)
    now = clock.now()
    early = [f"early-{number:02d}" for number in range(20)]
    for uid in early:
        queue.schedule(uid, now - timedelta(seconds=10))
    queue.schedule("later", now - timedelta(seconds=5))
    transaction.commit()
    orders = {True: set(), False: set()}
    for through_view in (True, False) * 3:
        worker.manager.begin()
        try:
            site = worker.connection.root()["Application"].unrestrictedTraverse(
                worker.path
            )
            pending, _, _ = IQueue(site).look(
                now, worker.view if through_view else None
            )
            uids = [job.cron_uid for job in pending]
        finally:
            worker.manager.abort()
        assert sorted(uids[:20]) == early
        assert uids[20:] == ["later"]
        orders[through_view].add(tuple(uids))
    # Each way, 3 looks in one order: 1 in 20!^2.
    assert len(orders[True]) > 1 and len(orders[False]) > 1
