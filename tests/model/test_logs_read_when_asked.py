"""A loaded cron reads its logs from the run history when first asked: a
run adds its log without parsing the others, and what code reads (runners,
2.x accessors, saves) is what it was."""

from collective.cron import crontab as mcrontab
from collective.cron.audit import AuditTrail
from collective.cron.crontab import Log
from collective.cron.crontab import Runner
from collective.cron.history import History
from collective.cron.status import Status
from collective.cron.testing import run_due_jobs
from collective.cron.testing import set_now
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from zope.component import getGlobalSiteManager

import pytest


START = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture
def cron_with_history(portal):
    """A cron due every minute with 5 logs in the run history."""
    set_now(START)
    crontab = mcrontab.Crontab()
    cron = mcrontab.Cron(
        name="reads-its-logs", periodicity="* * * * *", crontab=crontab
    )
    crontab.save()
    History(portal).set(
        cron.uid,
        [
            Log(date=START - timedelta(minutes=n), status=Status.OK, messages=[f"{n}"])
            for n in range(1, 6)
        ],
    )
    return cron.uid


class ReadsItsLogs(Runner):
    seen = []

    def run(self):
        type(self).seen.append([log.messages for log in self.cron.logs])


@pytest.fixture
def reads_its_logs():
    gsm = getGlobalSiteManager()
    ReadsItsLogs.seen = []
    gsm.registerAdapter(ReadsItsLogs, name="reads-its-logs")
    yield ReadsItsLogs
    gsm.unregisterAdapter(ReadsItsLogs, name="reads-its-logs")


def test_a_loaded_crons_logs_are_those_of_its_history(portal, cron_with_history):
    cron = mcrontab.Crontab.load().by_uid(cron_with_history)
    assert cron.logs_unread
    assert [log.messages for log in cron.logs] == [["1"], ["2"], ["3"], ["4"], ["5"]]
    assert not cron.logs_unread
    assert cron.last.messages == ["1"]


def test_a_run_does_not_read_the_logs_its_runner_does_not_ask_for(
    portal, cron_with_history, recording, monkeypatch
):
    # "mycronjob": the recording runner, which does not look at its logs.
    crontab = mcrontab.Crontab.load()
    crontab.by_uid(cron_with_history).name = "mycronjob"
    crontab.save()
    read = []
    logs = History.logs
    monkeypatch.setattr(
        History, "logs", lambda self, uid: read.append(uid) or logs(self, uid)
    )
    set_now(START + timedelta(minutes=1))
    [(status, _, uid, _)] = run_due_jobs(portal)
    assert (status, uid) == (Status.OK, cron_with_history)
    assert read == []
    monkeypatch.undo()
    # The history has the run's log on top of the five.
    logs = mcrontab.Crontab.load().by_uid(cron_with_history).logs
    assert [log.messages for log in logs[1:]] == [["1"], ["2"], ["3"], ["4"]]
    assert logs[0].date == START + timedelta(minutes=1)


def test_a_runner_that_reads_its_logs_sees_its_history(
    portal, cron_with_history, reads_its_logs
):
    set_now(START + timedelta(minutes=1))
    [(status, *_)] = run_due_jobs(portal)
    assert status == Status.OK
    assert reads_its_logs.seen == [[["1"], ["2"], ["3"], ["4"], ["5"]]]


def test_a_save_leaves_unread_logs_alone_and_writes_changed_ones(
    portal, cron_with_history
):
    history = History(portal)
    record = history._storage()[cron_with_history]
    crontab = mcrontab.Crontab.load()
    cron = crontab.by_uid(cron_with_history)
    cron.environ = {"changed": True}
    crontab.save()
    assert not record._p_changed  # its logs were not read: not written
    assert len(history.logs(cron_with_history)) == 5
    # Read, then one taken out: the save writes it.
    del cron.logs[0]
    crontab.save()
    assert [log.messages for log in history.logs(cron_with_history)] == [
        ["2"],
        ["3"],
        ["4"],
        ["5"],
    ]


def test_a_save_looks_up_the_history_of_the_changed_crons_only(
    portal, cron_with_history, monkeypatch
):
    crontab = mcrontab.Crontab.load()
    for number in range(3):
        mcrontab.Cron(name=f"other-{number}", periodicity="@daily", crontab=crontab)
    crontab.save()
    crontab = mcrontab.Crontab.load()
    crontab.by_uid(cron_with_history).environ = {"changed": True}
    looked_up = []
    for name in ("logs", "stored", "__contains__"):
        original = getattr(History, name)

        def counted(self, uid, original=original):
            looked_up.append(uid)
            return original(self, uid)

        monkeypatch.setattr(History, name, counted)
    crontab.save()
    assert set(looked_up) == {cron_with_history}


def test_logs_assigned_before_being_read_are_saved_and_audited(
    portal, cron_with_history
):
    # The 2.x way to clear a cron's logs: assign, then save.
    trail = AuditTrail(portal)
    crontab = mcrontab.Crontab.load()
    crontab.by_uid(cron_with_history).logs = []
    crontab.save()
    assert History(portal).logs(cron_with_history) == []
    entry = trail.entries()[0]
    assert (entry["action"], entry["uid"]) == ("logs deleted", cron_with_history)
    assert entry["changes"] == [{"field": "logs", "old": 5, "new": 0}]


def test_a_lower_logs_limit_cuts_the_history_at_the_save(portal, cron_with_history):
    trail = AuditTrail(portal)
    crontab = mcrontab.Crontab.load()
    crontab.by_uid(cron_with_history).logs_limit = 2
    crontab.save()
    logs = History(portal).logs(cron_with_history)
    assert [log.messages for log in logs] == [["1"], ["2"]]
    deleted = [e for e in trail.entries() if e["action"] == "logs deleted"]
    assert [entry["changes"] for entry in deleted] == [
        [{"field": "logs", "old": 5, "new": 2}]
    ]
