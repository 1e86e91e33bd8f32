"""Faults: a runner that outlives its lease, admins editing while runs commit,
and the ZEO server restarting under running workers.

Real threads and processes need real time: every wait is bounded.
"""

from collective.cron.crontab import Cron
from collective.cron.crontab import Crontab
from collective.cron.interfaces import ICronManager
from collective.cron.status import Status
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from tests.support.instances import Instance
from tests.support.instances import ZEOServer
from tests.support.instances import wait_for
from tests.support.slots import account
from ZODB.POSException import ConflictError
from zope.component import getMultiAdapter
from zope.component.hooks import setSite

import pytest
import time
import transaction


@pytest.fixture
def dispatcher(start_dispatcher, demo_runner):
    def start(**settings):
        values = {"poll-interval": "0.1", "worker-name": "fault-worker"}
        return start_dispatcher(**{**values, **settings})

    return start


def fresh_logs(uid):
    transaction.begin()
    return Crontab.load(uids=[uid]).by_uid(uid).logs


def test_runner_outliving_its_lease_is_not_taken_back(functional_portal, dispatcher):
    """The lease lasts while the worker's heartbeats come: no second run."""
    setSite(functional_portal)
    crontab = Crontab.load()
    cron = Cron(
        name="collective.cron.demo",
        periodicity="@yearly",
        environ={"sleep": 2.5},
        crontab=crontab,
    )
    crontab.save()
    getMultiAdapter((functional_portal, cron), ICronManager).register_job(force=True)
    transaction.commit()
    worker = dispatcher(lease="1", heartbeat="0.2", threads="2")
    logs = wait_for(lambda: fresh_logs(cron.uid), 30, message="the slow run's log")
    # Ten more looks (1 s at least): time for the other thread to take the
    # job back, which it must not do.
    polls = worker.polls
    wait_for(lambda: worker.polls >= polls + 10, 30, interval=0.05, message="polls")
    logs = fresh_logs(cron.uid)
    assert [log.status for log in logs] == [Status.OK]
    assert logs[0].details["duration"] >= 2.5


def test_admin_edits_while_runs_commit(functional_portal, dispatcher):
    """Edits through the API while every cron runs each second: none lost,
    no log lost."""
    setSite(functional_portal)
    uids = [f"c{n}" for n in range(4)]
    crontab = Crontab.load()
    for uid in uids:
        Cron(
            uid=uid,
            name="collective.cron.demo",
            periodicity="* * * * * *",
            logs_limit=25,
            crontab=crontab,
        )
    crontab.save()
    transaction.commit()
    worker = dispatcher(threads="2")
    wait_for(lambda: all(fresh_logs(uid) for uid in uids), 30, message="first runs")

    edits = 0
    deadline = time.monotonic() + 6
    while time.monotonic() < deadline and edits < 60:
        uid = uids[edits % len(uids)]
        for _ in range(5):  # what Zope's publisher does on a conflict
            try:
                transaction.begin()
                crontab = Crontab.load()
                crontab.by_uid(uid).environ = {"edit": edits}
                crontab.save()
                transaction.commit()
                break
            except ConflictError:
                transaction.abort()
        else:
            pytest.fail(f"edit {edits} conflicted 5 times")
        edits += 1
        time.sleep(0.05)  # about 20 edits a second
    worker.stop()  # waits for the runs under way

    transaction.begin()
    crontab = Crontab.load()
    last_edit = {uids[n % len(uids)]: n for n in range(edits)}
    for uid in uids:
        assert crontab.by_uid(uid).environ == {"edit": last_edit[uid]}
        logs = crontab.by_uid(uid).logs
        _, duplicates, unaccounted = account(logs, timedelta(seconds=1))
        assert not duplicates, f"{uid}: a second ran twice: {duplicates}"
        assert not unaccounted, f"{uid}: a run or its log was lost: {unaccounted}"
    assert edits >= 20


@pytest.mark.slow
def test_workers_survive_a_zeo_restart(tmp_path):
    zeo = ZEOServer(tmp_path / "zeo").start()
    worker = Instance(
        tmp_path / "w1",
        zeo=zeo,
        product_config={"worker": "on", "poll-interval": "0.2", "heartbeat": "0.5"},
    )
    try:
        worker.create_site()
        worker.start()
        worker.set_crons(
            [
                {
                    "uid": "tick",
                    "name": "collective.cron.demo",
                    "periodicity": "* * * * * *",
                    "activated": True,
                    "logs_limit": 25,
                }
            ]
        )
        wait_for(
            lambda: len(worker.cron("tick")["logs"]) >= 2, 30, message="first runs"
        )
        zeo.stop()
        time.sleep(3)  # the database is away: workers poll into the void
        restarted = datetime.now(UTC).replace(tzinfo=None)
        zeo.start()

        def after_restart():
            return [
                log
                for log in worker.cron("tick")["logs"]
                if "due" in log
                and datetime.strptime(log["due"], "%Y-%m-%d %H:%M:%S") > restarted
            ]

        def swallowed(log):
            # Slots that passed while a run waited for the database: logged
            # NOTRUN "skipped", with the due time of the first of them.
            return any("previous run was still running" in m for m in log["messages"])

        logs = wait_for(
            lambda: [log for log in after_restart() if not swallowed(log)],
            60,
            message="runs after the ZEO restart",
        )
        assert worker.process.running()
        assert {log["status_title"] for log in logs} == {"OK"}, logs
        skipped = [log for log in after_restart() if swallowed(log)]
        assert {log["status_title"] for log in skipped} <= {"NOTRUN"}, skipped
    finally:
        worker.stop()
        zeo.stop()
