"""Every scheduled slot of an active cron ends in exactly one log.

A run log (its `due`, and the slots it stands for when late), a NOTRUN log
that lists the slots it skips, or an "interrupted" log carrying its `due`:
whatever the reason a slot was not run on time (late start, overrun, a lost
worker, a restarted worker). Time moves with set_now.
"""

from collective.cron.crontab import Cron
from collective.cron.crontab import Crontab
from collective.cron.interfaces import IQueue
from collective.cron.job import claim
from collective.cron.job import reclaim_lost_jobs
from collective.cron.job import release_earlier_processes_jobs
from collective.cron.status import Status
from collective.cron.testing import run_due_jobs
from collective.cron.testing import set_now
from collective.cron.workers import beat as write_beat
from collective.cron.workers import record_of
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import os
import pytest
import transaction


T0 = datetime(2026, 3, 2, 8, 0, 0, tzinfo=UTC)
EVERY_2S = "*/2 * * * * *"
LEASE = timedelta(seconds=6)


def at(seconds):
    return T0 + timedelta(seconds=seconds)


def stamp(seconds):
    return at(seconds).strftime("%Y-%m-%d %H:%M:%S")


@pytest.fixture
def site(site, recording):
    set_now(T0)
    return site


def add_cron(**settings):
    crontab = Crontab.load()
    cron = Cron(name="mycronjob", periodicity=EVERY_2S, crontab=crontab, **settings)
    crontab.save()
    transaction.commit()
    return cron.uid


def logs(uid):
    transaction.begin()
    return Crontab.load(uids=[uid]).by_uid(uid).logs


def due(site, uid):
    return IQueue(site).job(uid).begin_after


def test_late_start_within_grace_names_every_slot_it_stands_for(site):
    uid = add_cron()
    assert due(site, uid) == at(2)
    set_now(at(9))  # 7 s late: slots 02, 04, 06 and 08 have passed
    [(status, messages, _, _)] = run_due_jobs(site, commit=True)
    [log] = logs(uid)
    assert status == Status.OK
    assert log.details["due"] == stamp(2)
    assert log.details["missed"] == 4
    assert log.details["scheduled"] == [stamp(2), stamp(4), stamp(6), stamp(8)]
    assert messages[-1].startswith("Ran 7s late; stands for 4 scheduled runs")
    assert due(site, uid) == at(10)


def test_skip_policy_runs_a_job_late_within_grace(site):
    uid = add_cron(misfire="skip")
    set_now(at(5))
    run_due_jobs(site, commit=True)
    [log] = logs(uid)
    assert log.status == Status.OK  # not a misfire: no worker was missing
    assert log.details["scheduled"] == [stamp(2), stamp(4)]


def test_skip_policy_beyond_grace_lists_the_skipped_slots(site):
    uid = add_cron(misfire="skip")
    set_now(at(2 + 61))
    run_due_jobs(site, commit=True)
    [log] = logs(uid)
    assert log.status == Status.NOTRUN
    assert log.details["due"] == stamp(2)
    assert log.details["missed"] == 31  # 02, 04, ... 62


def test_overrun_logs_the_slots_it_swallowed(site, recording):
    uid = add_cron()
    set_now(at(2))
    recording.behaviour = lambda runner: set_now(at(7))  # the run takes 5 s
    run_due_jobs(site, commit=True)
    skipped, ran = logs(uid)
    assert (ran.status, ran.details["due"]) == (Status.OK, stamp(2))
    assert skipped.status == Status.NOTRUN
    assert skipped.details["due"] == stamp(4)
    assert skipped.details["scheduled"] == [stamp(4), stamp(6)]
    assert "the previous run was still running" in skipped.messages[0]
    assert due(site, uid) == at(8)


def beat(site, name, threads, token):
    """A worker's heartbeat (heartbeat 1 s + poll 0.5 s), committed as the
    dispatcher commits it."""
    transaction.begin()
    record = write_beat(site, name, threads, token, gap=1.5)
    transaction.commit()
    return record


def claim_as(site, uid, worker, token):
    transaction.begin()
    queue = IQueue(site)
    claim(site, queue.job(uid), worker, LEASE, token)
    transaction.commit()


def test_lost_worker_interrupted_log_carries_its_due_and_later_slots_run(site):
    uid = add_cron()
    set_now(at(2))
    beat(site, "w1", 1, "process-1")
    claim_as(site, uid, "w1", "process-1")
    set_now(at(20))  # w1 died at 02: no heartbeat, lease over at 08
    lost = reclaim_lost_jobs(site, LEASE, lambda name: record_of(site, name))
    assert lost == 1
    [log] = logs(uid)
    assert log.status == Status.FAILURE
    assert log.messages[0].startswith("interrupted: worker lost (worker w1 sent no")
    assert log.details["due"] == stamp(2)
    assert log.date == at(20)  # written now, not dated at the claim
    assert log.details["claimed_at"] == stamp(2)
    # The next slot (04) is queued: it runs now and stands for 04..20.
    assert due(site, uid) == at(4)
    run_due_jobs(site, commit=True)
    ran = logs(uid)[0]
    assert ran.status == Status.OK
    assert ran.details["due"] == stamp(4)
    assert ran.details["missed"] == 9  # 04, 06, ..., 20
    assert due(site, uid) == at(22)


def test_slow_heartbeat_keeps_its_job_beyond_a_shorter_lease(site):
    """A worker's own heartbeat gap counts: its runs are not taken back by a
    worker with a shorter lease while its next heartbeat may still come."""
    uid = add_cron()
    set_now(at(2))
    transaction.begin()
    write_beat(site, "w1", 1, "process-1", gap=65)  # heartbeat 60 + poll 5
    transaction.commit()
    claim_as(site, uid, "w1", "process-1")
    set_now(at(2 + 100))  # lease 6 s over, but 100 s < 2 gaps
    assert reclaim_lost_jobs(site, LEASE, lambda name: record_of(site, name)) == 0
    set_now(at(2 + 131))
    assert reclaim_lost_jobs(site, LEASE, lambda name: record_of(site, name)) == 1


def test_live_worker_keeps_its_job_after_its_lease(site):
    uid = add_cron()
    set_now(at(2))
    beat(site, "w1", 1, "process-1")
    claim_as(site, uid, "w1", "process-1")
    set_now(at(20))
    beat(site, "w1", 1, "process-1")  # still beating: the run goes on
    assert reclaim_lost_jobs(site, LEASE, lambda name: record_of(site, name)) == 0
    assert IQueue(site).job(uid).running


def test_job_of_a_restarted_name_is_taken_back_after_its_lease(site):
    """Another worker: the name beats again, but from a new process."""
    uid = add_cron()
    set_now(at(2))
    beat(site, "w1", 1, "process-1")
    claim_as(site, uid, "w1", "process-1")
    set_now(at(5))
    assert reclaim_lost_jobs(site, LEASE, lambda n: record_of(site, n)) == 0
    beat(site, "w1", 1, "process-2")  # restarted under the same name
    set_now(at(9))
    assert reclaim_lost_jobs(site, LEASE, lambda n: record_of(site, n)) == 1
    [log] = logs(uid)
    assert "worker w1 restarted" in log.messages[0]
    assert log.details["due"] == stamp(2)


def test_restarted_process_gives_back_its_earlier_jobs_at_once(site):
    uid = add_cron()
    set_now(at(2))
    beat(site, "w1", 1, "process-1")
    claim_as(site, uid, "w1", "process-1")
    set_now(at(3))  # lease runs until 08: it does not matter
    record = beat(site, "w1", 1, "process-2")
    assert release_earlier_processes_jobs(site, "w1", "process-2", record) == 1
    [log] = logs(uid)
    assert log.status == Status.FAILURE
    assert "worker w1 restarted" in log.messages[0]
    assert log.details["due"] == stamp(2)
    job = IQueue(site).job(uid)
    assert not job.running and job.begin_after == at(4)


def test_own_jobs_are_not_given_back(site):
    uid = add_cron()
    set_now(at(2))
    record = beat(site, "w1", 1, "process-1")
    claim_as(site, uid, "w1", "process-1")
    assert release_earlier_processes_jobs(site, "w1", "process-1", record) == 0
    assert IQueue(site).job(uid).running


def test_heartbeat_record_names_the_current_process(site):
    set_now(at(0))
    beat(site, "w1", 2, "process-1")
    record_of(site, "w1").pid = 1  # as the earlier process wrote it
    transaction.commit()
    set_now(at(30))
    beat(site, "w1", 2, "process-2")
    record = record_of(site, "w1")

    assert (record.token, record.pid, record.started) == (
        "process-2",
        os.getpid(),
        at(30),
    )


def test_a_broken_wrapper_gives_the_job_back(site, recording):
    """A subscriber that raises while the run is recorded must not strand the
    job `running` under a live worker: it is logged and the next slot queued."""
    from collective.cron.interfaces import IFinishedCronJobEvent
    from zope.component import getGlobalSiteManager

    def broken(event):
        if event.log.status == Status.FAILURE and "interrupted" not in str(
            event.log.messages
        ):
            raise RuntimeError("a subscriber broke")

    def fail(runner):
        raise ValueError("the run failed")

    recording.behaviour = fail
    uid = add_cron()
    set_now(at(2))
    gsm = getGlobalSiteManager()
    gsm.registerHandler(broken, (IFinishedCronJobEvent,))
    try:
        run_due_jobs(site, commit=True)
    finally:
        gsm.unregisterHandler(broken, (IFinishedCronJobEvent,))
    [log] = logs(uid)
    assert log.status == Status.FAILURE
    assert log.messages[0].startswith(
        "interrupted: the run could not be recorded (RuntimeError: a subscriber broke"
    )
    assert log.details["due"] == stamp(2)
    job = IQueue(site).job(uid)
    assert not job.running and job.begin_after == at(4)
