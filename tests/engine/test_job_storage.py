"""How jobs are stored: their times come back as stored, jobs stored by
earlier versions load, and dropping many jobs does not read them all."""

from collective.cron.queue import CLOCK_MARGIN
from collective.cron.queue import Job
from collective.cron.queue import Queue
from collective.cron.testing import set_now
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from persistent import Persistent
from persistent.mapping import PersistentMapping
from zope.annotation.interfaces import IAnnotations
from zope.interface import alsoProvides

import pytest
import transaction
import ZODB
import ZODB.FileStorage


NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)


@pytest.fixture
def reopen(tmp_path):
    """reopen(): the queue of a fresh database on the same FileStorage, so
    every job is read back from the file."""
    path = str(tmp_path / "Data.fs")
    opened = []

    def reopen():
        for db in opened:
            transaction.abort()
            db.close()
        db = ZODB.DB(ZODB.FileStorage.FileStorage(path))
        opened.append(db)
        root = db.open().root()
        if "site" not in root:
            # Stands in for a site: annotations are where the queue lives.
            root["site"] = PersistentMapping()
            alsoProvides(root["site"], IAnnotations)
        return Queue(root["site"])

    yield reopen
    transaction.abort()
    for db in opened:
        db.close()


def test_a_jobs_times_come_back_aware_and_equal(reopen):
    set_now(NOW)
    queue = reopen()
    job = queue.schedule("every", NOW + timedelta(hours=1))
    queue.claim(job, "worker-1", NOW + timedelta(minutes=5), token="t")
    queue.retry(job, NOW + timedelta(minutes=2))
    queue.claim(job, "worker-1", NOW + timedelta(minutes=9), token="t")
    expected = {
        name: getattr(job, name)
        for name in ("begin_after", "created", "claimed_at", "lease_until", "slot")
    }
    transaction.commit()

    job = reopen().job("every")
    read = {name: getattr(job, name) for name in expected}
    assert read == expected
    assert all(value.tzinfo is UTC for value in read.values())
    assert (job.status, job.worker, job.attempt) == ("running", "worker-1", 2)


def test_a_new_jobs_defaults_read_as_before(reopen):
    set_now(NOW)
    queue = reopen()
    queue.schedule("new", NOW + timedelta(hours=1))
    transaction.commit()
    job = reopen().job("new")
    assert (job.status, job.forced, job.cancelled) == ("pending", False, False)
    assert job.worker is job.claimed_at is job.lease_until is job.after_run is None


def _naive_state(job):
    state = dict(Persistent.__getstate__(job))
    for name in ("begin_after", "created", "claimed_at", "lease_until"):
        if state.get(name) is not None:
            state[name] = state[name].replace(tzinfo=None)
    return state


@pytest.mark.parametrize(
    "stored_state",
    [Persistent.__getstate__, _naive_state],
    ids=["zoned times", "naive UTC times"],
)
def test_jobs_stored_by_earlier_builds_still_load(reopen, monkeypatch, stored_state):
    # Earlier builds stored a job's times as aware, then as naive UTC,
    # datetimes.
    set_now(NOW)
    monkeypatch.setattr(Job, "__getstate__", stored_state)
    queue = reopen()
    job = queue.schedule("old", NOW + timedelta(hours=1))
    queue.claim(job, "worker-1", NOW + timedelta(minutes=5))
    transaction.commit()
    monkeypatch.undo()

    job = reopen().job("old")
    assert job.begin_after == NOW + timedelta(hours=1)
    assert job.lease_until == NOW + timedelta(minutes=5)
    assert job.created.tzinfo is UTC


def test_clearing_drops_jobs_not_due_without_reading_them(reopen):
    set_now(NOW)
    queue = reopen()
    for number in range(50):
        queue.schedule(f"later-{number}", NOW + timedelta(days=30))
    queue.schedule("due", NOW - timedelta(minutes=1))
    transaction.commit()

    queue = reopen()
    storage = queue._storage()
    jobs = dict(storage.jobs.items())  # ghosts: not read from the file
    queue.clear()
    assert len(queue) == 0 and list(storage.due.keys()) == []
    read = [uid for uid, job in jobs.items() if job._p_status != "ghost"]
    assert read == ["due"]  # due, so maybe running: read to be checked
    transaction.commit()
    assert len(reopen()) == 0


def test_clearing_keeps_running_jobs_until_their_run_ends(reopen):
    set_now(NOW)
    queue = reopen()
    running = queue.schedule("running", NOW - timedelta(minutes=1))
    queue.claim(running, "worker-1", NOW + timedelta(minutes=5))
    # Claimed by a worker whose clock is ahead of this one's.
    ahead = queue.schedule("ahead", NOW + CLOCK_MARGIN - timedelta(seconds=1))
    queue.claim(ahead, "worker-2", NOW + timedelta(minutes=10))
    queue.schedule("pending", NOW + timedelta(days=1))
    transaction.commit()

    queue = reopen()
    queue.clear()
    assert sorted(queue.uids()) == ["ahead", "running"]
    assert queue.job("running").cancelled and queue.job("ahead").cancelled
    job = queue.job("running")
    queue.finish(job, next_due=NOW + timedelta(hours=1))
    assert sorted(queue.uids()) == ["ahead"]
