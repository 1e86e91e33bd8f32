"""The dispatcher's parts, in process: handing out, conflicting claims, liveness."""

from collective.cron import config
from collective.cron.crontab import Cron
from collective.cron.crontab import Crontab
from collective.cron.dispatcher import BATCH_SIZE
from collective.cron.dispatcher import BATCHES_PER_TASK
from collective.cron.dispatcher import BUSY_LOOK_EVERY
from collective.cron.dispatcher import HELD_TOO_LONG
from collective.cron.dispatcher import QUICK_BATCH_SECONDS
from collective.cron.dispatcher import QUICK_BATCH_SIZE
from collective.cron.dispatcher import QUICK_PACE
from collective.cron.dispatcher import Dispatcher
from collective.cron.dispatcher import SiteSession
from collective.cron.interfaces import IQueue
from collective.cron.job import claim
from collective.cron.job import claim_and_run_many
from collective.cron.testing import set_now
from collective.cron.workers import alive
from collective.cron.workers import beat
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import threading
import time
import transaction


def unstarted(threads, pace=QUICK_PACE * 2):
    """A dispatcher not started; `pace`: seconds a job of /plone took in its
    last task (default: slow runs, spread over the threads; None: unknown)."""
    settings = config.load({"worker": "on", "threads": str(threads)}, environ={})
    dispatcher = Dispatcher(None, settings)
    if pace is not None:
        dispatcher.pace["/plone"] = pace
    return dispatcher


def handed_out(dispatcher):
    tasks = []
    for inbox in dispatcher.inboxes:
        while not inbox.empty():
            path, uids, handed_at, _ = inbox.get_nowait()
            tasks.append((handed_at, path, uids))
    # In the order handed out (each went to the first idle thread).
    return [(path, uids) for _, path, uids in sorted(tasks, key=lambda t: t[0])]


UIDS = [f"c{n}" for n in range(100)]
# Seconds a no-op job takes in a task of a quick site (1-2.5 ms measured).
NO_OP_PACE = 0.001


class TestHandOut:
    def test_one_worker_splits_due_jobs_over_its_threads(self):
        dispatcher = unstarted(threads=2)
        dispatcher._hand_out("/plone", UIDS[:5], workers=1)
        assert handed_out(dispatcher) == [
            ("/plone", UIDS[:3]),
            ("/plone", UIDS[3:5]),
        ]
        assert dispatcher.tasks_in_flight == 2

    def test_batches_shrink_so_every_live_worker_gets_some(self):
        dispatcher = unstarted(threads=2)
        dispatcher._hand_out("/plone", UIDS[:6], workers=3)
        # 6 jobs for 3 workers x 2 threads: one each; we take two.
        assert handed_out(dispatcher) == [("/plone", ["c0"]), ("/plone", ["c1"])]

    def test_a_task_holds_at_most_batches_per_task_batches(self):
        dispatcher = unstarted(threads=1)
        dispatcher._hand_out("/plone", UIDS, workers=1)
        most = BATCH_SIZE * BATCHES_PER_TASK
        assert handed_out(dispatcher) == [("/plone", UIDS[:most])]

    def test_a_quick_sites_task_holds_batches_per_task_large_batches(self):
        # Fewer looks and commits between quick runs: 2,000 no-op runs went
        # 15-25 % faster with batches of 100 than with batches of 32.
        dispatcher = unstarted(threads=1, pace=NO_OP_PACE)
        uids = [f"q{n}" for n in range(QUICK_BATCH_SIZE * BATCHES_PER_TASK + 50)]
        dispatcher._hand_out("/plone", uids, workers=1)
        most = QUICK_BATCH_SIZE * BATCHES_PER_TASK
        assert handed_out(dispatcher) == [("/plone", uids[:most])]

    def test_a_quick_sites_task_ends_before_it_is_held_too_long(self):
        # Its batches last QUICK_BATCH_SECONDS at its pace: a task of them
        # does not reach HELD_TOO_LONG, which would spread the site.
        pace = QUICK_PACE / 4
        dispatcher = unstarted(threads=1, pace=pace)
        dispatcher._hand_out("/plone", [f"q{n}" for n in range(1000)], workers=1)
        [(_, task)] = handed_out(dispatcher)
        assert QUICK_BATCH_SECONDS / pace == 40
        assert len(task) == 40 * BATCHES_PER_TASK
        assert len(task) * pace < HELD_TOO_LONG

    def test_a_quick_site_held_too_long_is_spread_in_small_tasks(self):
        dispatcher = unstarted(threads=3, pace=NO_OP_PACE)
        dispatcher._hand_out("/plone", [f"q{n}" for n in range(1000)], workers=1)
        handed_out(dispatcher)
        dispatcher.handed_at["/plone"] = [time.monotonic() - HELD_TOO_LONG]
        dispatcher._hand_out("/plone", [f"r{n}" for n in range(1000)], workers=1)
        tasks = [inbox.get_nowait() for inbox in dispatcher.inboxes if inbox.qsize()]
        assert [len(uids) for _, uids, _, _ in tasks] == [BATCH_SIZE * 4] * 2
        # Claimed as a slow site's, however quick its last pace was.
        for _, uids, _, batch in tasks:
            assert batches_claimed(dispatcher, uids, batch) == [BATCH_SIZE] * 4

    def test_jobs_in_flight_are_not_handed_out_twice(self):
        dispatcher = unstarted(threads=3)
        dispatcher._hand_out("/plone", UIDS[:2], workers=3)
        dispatcher._hand_out("/plone", UIDS[:3], workers=3)
        assert handed_out(dispatcher) == [
            ("/plone", ["c0"]),
            ("/plone", ["c1"]),
            ("/plone", ["c2"]),
        ]

    def test_nothing_is_handed_out_without_a_free_thread(self):
        dispatcher = unstarted(threads=1)
        dispatcher._hand_out("/plone", ["c0"], workers=1)
        dispatcher._hand_out("/plone", ["c1"], workers=1)
        assert handed_out(dispatcher) == [("/plone", ["c0"])]
        assert ("/plone", "c1") not in dispatcher.in_flight


def batches_claimed(dispatcher, uids, batch=None):
    """The sizes of the batches a task of `uids` is claimed in (`batch`: as
    handed out with the task)."""
    sizes = []

    def run_batch(session, path, batch):
        sizes.append(len(batch))
        return len(batch)

    dispatcher._run_batch = run_batch
    assert dispatcher._run_task(None, "/plone", uids, batch) == len(uids)
    return sizes


class TestBatches:
    """How many claimed jobs wait for each other's runs."""

    def test_a_quick_sites_task_is_claimed_in_large_batches(self):
        dispatcher = unstarted(threads=1, pace=NO_OP_PACE)
        uids = [f"q{n}" for n in range(2 * QUICK_BATCH_SIZE)]
        assert batches_claimed(dispatcher, uids) == [QUICK_BATCH_SIZE] * 2

    def test_a_quick_sites_batch_lasts_about_quick_batch_seconds(self):
        # At 20 ms a job, 100 claimed jobs would wait up to 2 s for their
        # turn, and a cron's timeout (1 s at the least) counts from its claim.
        assert QUICK_BATCH_SECONDS / (QUICK_PACE / 4) == 40
        for pace, size in ((QUICK_PACE, BATCH_SIZE), (QUICK_PACE / 4, 40)):
            dispatcher = unstarted(threads=1, pace=pace)
            uids = [f"q{n}" for n in range(size * 3)]
            assert batches_claimed(dispatcher, uids) == [size] * 3

    def test_a_slow_sites_task_is_claimed_in_small_batches(self):
        # A slow run keeps the jobs claimed with it waiting: fewer of them.
        dispatcher = unstarted(threads=1, pace=QUICK_PACE * 2)
        assert batches_claimed(dispatcher, UIDS[:64]) == [BATCH_SIZE] * 4

    def test_a_site_of_unknown_pace_is_claimed_in_small_batches(self):
        dispatcher = unstarted(threads=1, pace=None)
        assert batches_claimed(dispatcher, UIDS[:40]) == [14, 14, 12]


class TestPace:
    """Seconds a job of a site took in its last task, as the threads tell."""

    def measured(self, dispatcher, thread, seconds_a_job, ran=2):
        began = time.monotonic() - seconds_a_job * ran
        dispatcher._measured(thread, "/plone", began, ran)
        return dispatcher.pace.get("/plone")

    def test_a_slow_first_task_of_a_cold_thread_is_not_taken(self):
        dispatcher = unstarted(threads=2, pace=None)
        assert self.measured(dispatcher, 0, QUICK_PACE * 3) is None
        # The same thread again, now warm: its measure counts.
        assert self.measured(dispatcher, 0, QUICK_PACE * 2) >= QUICK_PACE * 2

    def test_a_quick_site_stays_quick_when_a_cold_thread_is_slow(self):
        dispatcher = unstarted(threads=2, pace=NO_OP_PACE)
        assert self.measured(dispatcher, 1, QUICK_PACE * 3) == NO_OP_PACE

    def test_a_quick_task_counts_on_a_cold_thread_too(self):
        dispatcher = unstarted(threads=2, pace=None)
        assert self.measured(dispatcher, 1, QUICK_PACE / 4) <= QUICK_PACE


class TestQuickRuns:
    """A site whose runs were quick is worked by one thread at a time."""

    def test_quick_runs_go_to_one_thread(self):
        dispatcher = unstarted(threads=4)
        dispatcher.pace["/plone"] = QUICK_PACE / 2
        dispatcher._hand_out("/plone", UIDS[:40], workers=1)
        assert handed_out(dispatcher) == [("/plone", UIDS[:40])]
        # While that task runs, the others wait for it.
        dispatcher._hand_out("/plone", UIDS[40:60], workers=1)
        assert handed_out(dispatcher) == []

    def test_a_task_held_too_long_lets_other_threads_in(self):
        dispatcher = unstarted(threads=4)
        dispatcher.pace["/plone"] = QUICK_PACE / 2
        dispatcher._hand_out("/plone", UIDS[:40], workers=1)
        handed_out(dispatcher)
        dispatcher.handed_at["/plone"] = [time.monotonic() - HELD_TOO_LONG]
        dispatcher._hand_out("/plone", UIDS[40:60], workers=1)
        assert handed_out(dispatcher) == [
            ("/plone", UIDS[40:45]),
            ("/plone", UIDS[45:50]),
            ("/plone", UIDS[50:55]),
        ]

    def test_slow_runs_are_spread_over_the_threads(self):
        dispatcher = unstarted(threads=2, pace=QUICK_PACE * 2)
        dispatcher._hand_out("/plone", UIDS[:10], workers=1)
        assert handed_out(dispatcher) == [
            ("/plone", UIDS[:5]),
            ("/plone", UIDS[5:10]),
        ]

    def test_a_site_of_unknown_pace_is_handed_one_job_first(self):
        dispatcher = unstarted(threads=2, pace=None)
        dispatcher._hand_out("/plone", UIDS[:10], workers=1)
        assert handed_out(dispatcher) == [("/plone", UIDS[:1])]
        dispatcher._hand_out("/plone", UIDS[:10], workers=1)
        assert handed_out(dispatcher) == []  # the first job tells
        # It has not in a second: a slow one; the others are spread.
        dispatcher.handed_at["/plone"] = [time.monotonic() - HELD_TOO_LONG]
        dispatcher._hand_out("/plone", UIDS[:10], workers=1)
        assert handed_out(dispatcher) == [("/plone", UIDS[1:6])]


def test_no_look_while_every_thread_is_busy_but_one_a_second(site, db):
    # A look takes the interpreter from the threads that run: while none is
    # free, the dispatcher looks only for leases, overdue runs and silence.
    settings = config.load({"worker": "on", "threads": "2"}, environ={})
    dispatcher = Dispatcher(db, settings)
    session = SiteSession(db, settings.server_url)
    try:
        dispatcher._poll(session)
        assert dispatcher.polls == 1
        dispatcher.tasks_in_flight = 2
        dispatcher._poll(session)
        assert dispatcher.polls == 1
        dispatcher.last_look -= BUSY_LOOK_EVERY
        dispatcher._poll(session)
        assert dispatcher.polls == 2
        dispatcher.tasks_in_flight = 1
        dispatcher._poll(session)
        assert dispatcher.polls == 3
    finally:
        session.close()


def quick_site_on_four_threads(site, db, **settings):
    """A dispatcher of 4 threads, not started, polling every 0.05 s, whose
    site's runs were quick; and 3 crons of the site, due now."""
    values = {"worker": "on", "threads": "4", "poll-interval": "0.05", **settings}
    dispatcher = Dispatcher(db, config.load(values, environ={}))
    dispatcher.pace["/plone"] = QUICK_PACE / 2
    crontab = Crontab.load()
    crons = [
        Cron(name="mycronjob", periodicity="* * * * * *", crontab=crontab)
        for _ in range(3)
    ]
    crontab.save()
    transaction.commit()
    set_now(max(IQueue(site).job(cron.uid).begin_after for cron in crons))
    return dispatcher, crons


def test_a_look_that_leaves_due_jobs_to_running_tasks_waits_for_their_end(
    site, db, recording
):
    # A quick site is worked by one task at a time: with 4 threads, a look at
    # every poll would hand out nothing while that task runs, and take the
    # interpreter from it. The task's end wakes the dispatcher.
    dispatcher, crons = quick_site_on_four_threads(site, db)
    session = SiteSession(db, dispatcher.config.server_url)
    try:
        # Until the task has held its thread for HELD_TOO_LONG (about now
        # + 1 s), not the poll interval of 0.05 s.
        assert dispatcher._poll(session) > HELD_TOO_LONG / 2
        [(path, task)] = handed_out(dispatcher)
        assert (path, sorted(task)) == ("/plone", sorted(c.uid for c in crons))
        # Still in that task: the next look hands out nothing, and waits too.
        assert dispatcher._poll(session) > HELD_TOO_LONG / 2
        assert handed_out(dispatcher) == []
        assert recording.calls == []  # no thread ran: the jobs stay due
    finally:
        session.close()


def test_waiting_for_tasks_keeps_the_heartbeat_and_the_hand_off_of_held_sites(
    site, db, recording
):
    # Heartbeats ride on looks: the wait for a task's end must not make two
    # of them further apart than `heartbeat` + `poll-interval` (the lease's
    # floor). Nor may it delay giving a site's other jobs to other threads
    # once its task has held its thread for HELD_TOO_LONG.
    dispatcher, crons = quick_site_on_four_threads(site, db, heartbeat="0.3")
    settings = dispatcher.config
    session = SiteSession(db, settings.server_url)
    try:
        assert 0 < dispatcher._poll(session) <= settings.heartbeat
        assert len(handed_out(dispatcher)) == 1
        dispatcher.handed_at["/plone"] = [time.monotonic() - HELD_TOO_LONG + 0.1]
        dispatcher.last_beat = time.monotonic()  # the heartbeat is not due
        assert 0 < dispatcher._poll(session) <= 0.1
    finally:
        session.close()


def test_the_dispatcher_sleeps_until_the_next_due_job_or_the_poll_interval(
    site, db, recording
):
    # While no due job waits for its threads, never longer than the poll
    # interval: other processes' edits and lost leases are seen at looks.
    settings = config.load({"worker": "on", "threads": "1"}, environ={})
    dispatcher = Dispatcher(db, settings)
    crontab = Crontab.load()
    cron = Cron(name="mycronjob", periodicity="@hourly", crontab=crontab)
    crontab.save()
    transaction.commit()
    due = IQueue(site).job(cron.uid).begin_after
    session = SiteSession(db, settings.server_url)
    try:
        set_now(due - timedelta(minutes=30))
        assert dispatcher._poll(session) == settings.poll_interval
        set_now(due - timedelta(seconds=2))
        assert dispatcher._poll(session) == 2.0
    finally:
        session.close()


def due_cron(site):
    """A cron of the recording runner, saved, whose job is due now."""
    crontab = Crontab.load()
    cron = Cron(name="mycronjob", periodicity="* * * * * *", crontab=crontab)
    crontab.save()
    transaction.commit()
    set_now(IQueue(site).job(cron.uid).begin_after)
    return cron


def test_a_failed_heartbeat_while_busy_does_not_stop_the_looks(site, db):
    settings = config.load({"worker": "on", "threads": "1"}, environ={})
    dispatcher = Dispatcher(db, settings)
    session = SiteSession(db, settings.server_url)

    def database_away(session, force=False):
        raise OSError("the database server went away")

    dispatcher._heartbeat = database_away
    try:
        dispatcher.tasks_in_flight = 1
        dispatcher.last_look = time.monotonic()
        assert dispatcher._poll(session) == settings.poll_interval
    finally:
        session.close()


def test_a_failed_heartbeat_is_tried_again_at_the_next_poll_not_at_once(site, db):
    # The database away: each poll fails fast; polling again at once would
    # spin the dispatcher thread (and its log) until the database is back.
    settings = config.load(
        {"worker": "on", "threads": "1", "heartbeat": "0.5"}, environ={}
    )
    dispatcher = Dispatcher(db, settings)
    session = SiteSession(db, settings.server_url)

    def database_away(session, force=False):
        raise OSError("the database server went away")

    try:
        dispatcher._heartbeat(session, force=True)  # a beat, long ago
        dispatcher.last_beat -= 60
        dispatcher._heartbeat = database_away
        assert dispatcher._poll(session) == settings.poll_interval
    finally:
        session.close()


def test_a_task_taken_after_stop_runs_nothing(site, db, recording):
    cron = due_cron(site)
    settings = config.load({"worker": "on", "threads": "1"}, environ={})
    dispatcher = Dispatcher(db, settings)
    dispatcher.stopping.set()
    session = SiteSession(db, settings.server_url)
    try:
        path = "/".join(site.getPhysicalPath())
        assert dispatcher._run_task(session, path, [cron.uid]) == 0
    finally:
        session.close()
    assert recording.calls == []
    transaction.begin()
    assert not IQueue(site).job(cron.uid).running


def test_a_claim_that_conflicts_runs_nothing(site, db, recording):
    cron = due_cron(site)
    job = IQueue(site).job(cron.uid)
    # Another worker, on a connection of its own, claims the job first.
    other = transaction.TransactionManager()
    connection = db.open(transaction_manager=other)
    try:
        other_site = connection.root()["Application"].unrestrictedTraverse("plone")
        other_queue = IQueue(other_site)
        other_queue.claim(
            other_queue.job(cron.uid), "other", datetime.now(UTC) + timedelta(60)
        )
        other.commit()
    finally:
        connection.close()
    results = claim_and_run_many(site, [job], "us", timedelta(minutes=5))
    assert results == []
    assert recording.calls == []
    transaction.begin()
    assert IQueue(site).job(cron.uid).worker == "other"


def test_claimed_job_names_its_process(site):
    crontab = Crontab.load()
    cron = Cron(name="mycronjob", periodicity="@daily", crontab=crontab)
    crontab.save()
    job = claim(site, IQueue(site).job(cron.uid), "w", timedelta(60), token="t-1")
    assert (job.worker, job.worker_token, job.running) == ("w", "t-1", True)


def test_liveness_follows_each_workers_own_heartbeat_gap(site):
    start = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    set_now(start)
    beat(site, "fast", 1, "a", gap=1.5)  # heartbeat 1 + poll 0.5
    beat(site, "default", 1, "b")  # heartbeat 60 + poll 5
    set_now(start + timedelta(seconds=10))
    assert [worker["name"] for worker in alive(site)] == ["default"]
    set_now(start + timedelta(seconds=3 * 65 + 1))
    assert alive(site) == []


def test_a_worker_thread_that_dies_is_handed_no_more_tasks(db, monkeypatch):
    # A runner that raises SystemExit ends its worker thread (the other
    # threads go on): its inbox must not take the next tasks.
    settings = config.load({"worker": "on", "threads": "2"}, environ={})
    dispatcher = Dispatcher(db, settings)
    dispatcher.pace["/plone"] = QUICK_PACE * 2  # slow runs: spread

    def dies(session, path, uids, batch):
        raise SystemExit("a runner called sys.exit()")

    monkeypatch.setattr(dispatcher, "_run_task", dies)
    dispatcher._hand_out("/plone", UIDS[:1], workers=1)
    assert dispatcher.inboxes[0].qsize() == 1
    thread = threading.Thread(target=dispatcher._work, args=(0,))
    thread.start()
    thread.join(10)
    assert not thread.is_alive()
    assert ("/plone", UIDS[0]) not in dispatcher.in_flight
    dispatcher._hand_out("/plone", UIDS[1:3], workers=1)
    assert dispatcher.inboxes[0].empty()
    assert dispatcher.inboxes[1].get_nowait()[1] == UIDS[1:2]
