"""The dispatcher's threads against the functional layer's real database."""

from collective.cron import clock
from collective.cron.crontab import Cron
from collective.cron.crontab import Crontab
from collective.cron.crontab import format_date
from collective.cron.interfaces import ICronManager
from collective.cron.interfaces import IQueue
from collective.cron.job import claim
from collective.cron.marker import marked_sites
from collective.cron.registry import RECORD_CRONTAB
from collective.cron.status import Status
from collective.cron.workers import beat
from collective.cron.workers import heartbeats
from collective.cron.workers import record_of
from datetime import timedelta
from plone.app.testing import TEST_USER_ID
from plone.app.testing import setRoles
from plone.registry.interfaces import IRegistry
from tests.support.instances import wait_for
from zope.component import getMultiAdapter
from zope.component import getUtility
from zope.component.hooks import setSite

import json
import os
import pytest
import transaction


@pytest.fixture
def start(start_dispatcher):
    return start_dispatcher


def committed(db):
    return db.lastTransaction()


def test_site_is_marked_for_workers(functional_portal):
    assert marked_sites(functional_portal) == ["/plone"]


def test_idle_worker_writes_only_its_heartbeat(db, functional_portal, start):
    before = committed(db)
    dispatcher = start(heartbeat="60")
    wait_for(lambda: dispatcher.polls >= 20, 30, interval=0.05, message="20 polls")
    dispatcher.stop()
    transaction.begin()
    records = heartbeats(functional_portal)
    assert [record["name"] for record in records] == ["test-worker"]
    # Exactly one transaction since `before`: the heartbeat.
    written = [t.tid for t in db.storage.iterator() if t.tid > before]
    assert len(written) == 1


def test_runs_a_queued_job(db, functional_portal, start, demo_runner):
    setSite(functional_portal)
    setRoles(functional_portal, TEST_USER_ID, ["Manager"])
    crontab = Crontab.load()
    cron = Cron(name="collective.cron.demo", periodicity="@yearly", crontab=crontab)
    crontab.save()
    getMultiAdapter((functional_portal, cron), ICronManager).register_job(force=True)
    transaction.commit()
    start()

    def logged():
        transaction.begin()
        return Crontab.load().by_uid(cron.uid).logs

    logs = wait_for(logged, 30, message="the job's log")
    assert logs[0].status == 1
    assert logs[0].details["worker"] == "test-worker"


def test_stop_ends_every_thread(start):
    dispatcher = start(threads="3")
    assert len(dispatcher.threads) == 4
    dispatcher.stop()
    assert not any(thread.is_alive() for thread in dispatcher.threads)


def test_unmarked_site_with_the_addon_is_found_at_start(db, functional_portal, start):
    from collective.cron.marker import ROOT_KEY

    root = functional_portal._p_jar.root()
    del root[ROOT_KEY]  # as on a site installed before the marker existed
    transaction.commit()
    dispatcher = start()
    wait_for(lambda: dispatcher.polls >= 2, 30, interval=0.05, message="2 polls")
    transaction.begin()
    assert marked_sites(functional_portal) == ["/plone"]


def test_restarted_worker_gives_back_its_earlier_process_jobs_at_start(
    db, functional_portal, start, demo_runner
):
    """A worker restarted under its old name (containers: host:1) does not
    leave what its dead process held to a lease that never ends."""
    setSite(functional_portal)
    setRoles(functional_portal, TEST_USER_ID, ["Manager"])
    crontab = Crontab.load()
    cron = Cron(name="collective.cron.demo", periodicity="@yearly", crontab=crontab)
    crontab.save()
    queue = IQueue(functional_portal)
    slot = clock.now() - timedelta(seconds=30)
    queue.schedule(cron.uid, slot)
    # The dead process: it beat and claimed the job with a 5-minute lease.
    beat(functional_portal, "test-worker", 1, "dead-process")
    claim(functional_portal, queue.job(cron.uid), "test-worker", timedelta(minutes=5))
    queue.job(cron.uid).worker_token = "dead-process"
    transaction.commit()
    started_at = clock.now()

    dispatcher = start(lease="300")

    def interrupted():
        transaction.begin()
        return Crontab.load(uids=[cron.uid]).by_uid(cron.uid).logs

    [log] = wait_for(interrupted, 30, interval=0.05, message="the interrupted log")
    assert log.status == Status.FAILURE
    assert "worker test-worker restarted" in log.messages[0]
    assert log.details["due"] == format_date(slot)
    job = IQueue(functional_portal).job(cron.uid)
    assert not job.running and job.begin_after > clock.now()  # next year
    record = record_of(functional_portal, "test-worker")
    assert record.token == dispatcher.token
    assert record.pid == os.getpid() and record.started >= started_at


def test_a_stored_cron_that_breaks_todays_rules_stops_no_other(
    db, functional_portal, start, demo_runner
):
    """Data saved before a rule existed: the worker starts, syncs, and runs
    the good crons; the bad one is set aside (the dashboard names it)."""
    setSite(functional_portal)
    good = Cron(uid="good", name="collective.cron.demo", periodicity="* * * * * *")
    bad = dict(good.dump(logs=False), uid="steps", periodicity="*/90 * * * *")
    # Written as an earlier build did: below the record's checks and events.
    getUtility(IRegistry).records._values[RECORD_CRONTAB] = [
        json.dumps(bad),
        good.to_json(logs=False),
    ]
    Crontab().manager.reindex()  # as that build's save, or the upgrade, did
    transaction.commit()
    start()

    def ran():
        transaction.begin()
        return Crontab.load(uids=["good"], strict=False).by_uid("good").logs

    assert wait_for(ran, 30, interval=0.05, message="the good cron's run")
    assert IQueue(functional_portal).job("steps") is None
