"""Timeouts: a run past its cron's timeout is flagged once, shown overdue,
alerted as a failure, and never taken by another worker while its own lives."""

from collective.cron.crontab import Cron
from collective.cron.crontab import Crontab
from collective.cron.crontab import Runner
from collective.cron.history import History
from collective.cron.interfaces import ICronManager
from collective.cron.interfaces import IQueue
from collective.cron.status import Status
from tests.support.instances import wait_for
from zope.component import getMultiAdapter

import pytest
import threading
import transaction


RELEASE = threading.Event()
DEADLINES = []


class Hangs(Runner):
    """Blocks until the test releases it; remembers its deadline."""

    def run(self):
        DEADLINES.append(self.deadline)
        RELEASE.wait(60)


@pytest.fixture
def site(site):
    RELEASE.clear()
    DEADLINES.clear()
    yield site
    RELEASE.set()


def logs(uid):
    transaction.begin()
    return Crontab.load(uids=[uid]).by_uid(uid).logs


def test_a_hung_run_is_flagged_once_and_not_taken_by_another_worker(
    site, start_dispatcher, register_runner
):
    register_runner(Hangs, "hangs")
    crontab = Crontab.load()
    cron = Cron(
        name="hangs",
        periodicity="@yearly",
        timeout=1,
        notify="failure",
        crontab=crontab,
    )
    crontab.save()
    getMultiAdapter((site, cron), ICronManager).register_job(force=True)
    transaction.commit()
    first = start_dispatcher(**{"worker-name": "w1", "lease": "2", "heartbeat": "0.2"})
    second = start_dispatcher(**{"worker-name": "w2", "lease": "2", "heartbeat": "0.2"})
    flagged = wait_for(
        lambda: [log for log in logs(cron.uid) if log.details.get("overdue")],
        30,
        interval=0.1,
        message="the overdue flag",
    )
    [flag] = flagged
    assert flag.status == Status.WARN
    assert flag.messages[0].startswith("running for longer than 1s (started ")
    # Both dispatchers look again, many times: still one flag, still running.
    polls = (first.polls, second.polls)
    wait_for(
        lambda: first.polls > polls[0] + 20 and second.polls > polls[1] + 20,
        30,
        interval=0.05,
        message="more polls",
    )
    assert [log.details.get("overdue") for log in logs(cron.uid)] == [True]
    transaction.begin()
    job = IQueue(site).job(cron.uid)
    assert job.running and job.worker in ("w1", "w2")
    assert History(site).alerts(cron.uid)["state"] == "failing"  # alerted
    assert DEADLINES and DEADLINES[0] is not None
    RELEASE.set()
    ran = wait_for(
        lambda: [log for log in logs(cron.uid) if not log.details.get("overdue")],
        30,
        interval=0.1,
        message="the run's own log",
    )
    # The run's log and the flag written meanwhile are both kept.
    assert [log.status for log in ran] == [Status.OK]
    assert len(logs(cron.uid)) == 2


def test_history_writes_at_the_same_time_merge(site):
    """A run's log and a flag written by another connection at once: both
    commit, both are kept (CronHistory resolves the conflict)."""
    from collective.cron.crontab import Log

    crontab = Crontab.load()
    cron = Cron(name="x", periodicity="@yearly", crontab=crontab)
    crontab.save()
    History(site).ensure(cron.uid)
    transaction.commit()
    db = site._p_jar.db()
    other = transaction.TransactionManager()
    connection = db.open(transaction_manager=other)
    try:
        other_site = connection.root()["Application"].unrestrictedTraverse("plone")
        History(other_site).add(cron.uid, Log(messages=["flag"]), 5)
        History(site).add(cron.uid, Log(messages=["run"]), 5)
        other.commit()
        transaction.commit()  # would be a ConflictError without resolution
    finally:
        connection.close()
    assert sorted(log.messages[0] for log in logs(cron.uid)) == ["flag", "run"]


def test_alert_memory_changed_two_ways_is_a_real_conflict():
    from collective.cron.history import CronHistory
    from ZODB.POSException import ConflictError

    record = CronHistory()
    old = {"logs": (), "alerts": {"state": "ok"}}
    ours = {"logs": (), "alerts": {"state": "failing"}}
    theirs = {"logs": (), "alerts": {"state": "silent"}}
    with pytest.raises(ConflictError):
        record._p_resolveConflict(old, theirs, ours)
    merged = record._p_resolveConflict(
        old, {"logs": (), "alerts": {"state": "ok", "sent": 1}}, ours
    )
    assert merged["alerts"] == {"state": "failing", "sent": 1}
