"""Retries with backoff: a failed run is tried again, each attempt logged
with its number; the last one decides. Time moves with set_now."""

from collective.cron.crontab import Cron
from collective.cron.crontab import Crontab
from collective.cron.errors import InvalidCron
from collective.cron.interfaces import ICronManager
from collective.cron.interfaces import IQueue
from collective.cron.status import Status
from collective.cron.testing import run_due_jobs
from collective.cron.testing import set_now
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from tests.support.slots import account
from zope.component import getMultiAdapter

import pytest
import transaction


T0 = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)


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
    cron = Cron(name="mycronjob", crontab=crontab, **settings)
    crontab.save()
    transaction.commit()
    return cron


def logs(cron):
    transaction.begin()
    return Crontab.load(uids=[cron.uid]).by_uid(cron.uid).logs


def job(site, cron):
    transaction.begin()
    return IQueue(site).job(cron.uid)


def runs_at(site, seconds):
    set_now(at(seconds))
    return [result[0] for result in run_due_jobs(site, commit=True)]


def failing_times(recording, times):
    """The runner fails its first `times` calls, then works."""

    def behaviour(runner):
        if len(recording.calls) <= times:
            raise RuntimeError(f"call {len(recording.calls)} failed")

    recording.behaviour = behaviour


def test_failing_twice_then_succeeding_with_three_retries(site, recording):
    failing_times(recording, 2)
    cron = add_cron(periodicity="@hourly", retries=3, retry_delay=30)
    assert runs_at(site, 3600) == [Status.WARN]
    assert job(site, cron).begin_after == at(3630)  # 30 s later
    assert runs_at(site, 3630) == [Status.WARN]
    assert job(site, cron).begin_after == at(3690)  # then 60 s: doubled
    assert runs_at(site, 3690) == [Status.OK]
    third, second, first = logs(cron)
    assert first.messages == [
        "Attempt 1 of 4 failed: RuntimeError: call 1 failed",
        "Retrying at 2026-10-05 09:00:30 UTC",
    ]
    assert second.messages[0] == "Attempt 2 of 4 failed: RuntimeError: call 2 failed"
    assert third.status == Status.OK
    assert third.messages == ["Attempt 3 of 4"]
    # One log stands for the slot (09:00): the attempts are not slots.
    assert third.details["due"] == "2026-10-05 09:00:00"
    assert "due" not in first.details and "due" not in second.details
    assert job(site, cron).begin_after == at(7200)  # the schedule goes on
    assert job(site, cron).attempt == 1


def test_the_last_attempt_fails_for_good(site, recording):
    failing_times(recording, 10)
    cron = add_cron(periodicity="@hourly", retries=1, retry_delay=10)
    assert runs_at(site, 3600) == [Status.WARN]
    assert runs_at(site, 3610) == [Status.FAILURE]
    last = logs(cron)[0]
    assert last.messages == ["RuntimeError: call 2 failed", "Attempt 2 of 2"]
    assert last.details["due"] == "2026-10-05 09:00:00"


def test_a_retry_never_reaches_the_next_run(site, recording):
    """Every 2 minutes, retry delay 100 s doubling: the second retry (200 s)
    would pass the next run, so the run fails then."""
    failing_times(recording, 10)
    cron = add_cron(periodicity="*/2 * * * *", retries=5, retry_delay=100)
    assert runs_at(site, 120) == [Status.WARN]
    assert job(site, cron).begin_after == at(220)
    assert runs_at(site, 220) == [Status.FAILURE]  # 220 + 120 (capped) > 240
    assert job(site, cron).begin_after == at(240)
    recording.behaviour = None
    assert runs_at(site, 240) == [Status.OK]
    _, duplicates, unaccounted = account(logs(cron), timedelta(minutes=2))
    assert (duplicates, unaccounted) == ({}, [])


def test_a_retry_overtaken_by_the_next_run_ends_its_slot(site, recording):
    failing_times(recording, 1)
    cron = add_cron(periodicity="*/2 * * * *", retries=2, retry_delay=30)
    assert runs_at(site, 120) == [Status.WARN]
    # No worker ran the retry before 08:04: the slot of 08:02 fails, the
    # 08:04 run goes ahead.
    assert runs_at(site, 245) == [Status.FAILURE]
    overtaken = logs(cron)[0]
    assert overtaken.details["due"] == "2026-10-05 08:02:00"
    assert (
        "not run: the next scheduled run (2026-10-05 08:04:00)"
        in (overtaken.messages[0])
    )
    assert job(site, cron).begin_after == at(240)
    assert runs_at(site, 246) == [Status.OK]
    assert logs(cron)[0].details["due"] == "2026-10-05 08:04:00"


def test_run_now_honours_retries(site, recording):
    failing_times(recording, 1)
    cron = add_cron(periodicity="@daily", retries=1, retry_delay=5)
    getMultiAdapter((site, cron), ICronManager).register_job(force=True)
    transaction.commit()
    assert runs_at(site, 1) == [Status.WARN]
    assert job(site, cron).forced
    assert runs_at(site, 6) == [Status.OK]


def test_alerts_wait_for_the_last_attempt(site, recording):
    from collective.cron.history import History

    failing_times(recording, 10)
    cron = add_cron(periodicity="@hourly", retries=2, retry_delay=10, notify="failure")
    runs_at(site, 3600)
    runs_at(site, 3610)
    transaction.begin()
    assert History(site).alerts(cron.uid).get("state", "ok") == "ok"
    runs_at(site, 3630)
    transaction.begin()
    assert History(site).alerts(cron.uid)["state"] == "failing"


@pytest.mark.parametrize(
    "setting,value,message",
    [
        ("retries", -1, "Invalid retries -1: must be between 0 and 10"),
        ("retries", 11, "Invalid retries 11: must be between 0 and 10"),
        ("retries", "2.5", "Invalid retries '2.5': must be a whole number"),
        ("retry_delay", 0, "Invalid retry_delay 0: must be between 1 and 86400"),
        ("retry_delay", -5, "Invalid retry_delay -5: must be between 1 and 86400"),
        ("timeout", 0, "Invalid timeout 0: must be between 1 and 604800"),
        ("timeout", "soon", "Invalid timeout 'soon': must be a whole number"),
    ],
)
def test_bad_retry_settings_are_named(site, setting, value, message):
    with pytest.raises(InvalidCron) as error:
        Cron(name="x", periodicity="@daily", **{setting: value})
    assert str(error.value).startswith(message)
