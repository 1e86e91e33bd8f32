"""Every channel that changes the crontab leaves an entry: Python API, crons.xml
(a profile, a tarball), pause / resume / run now, log deletion, direct edits
of the registry records. The forms and REST are in test_browser.py."""

from collective.cron.audit import AuditTrail
from collective.cron.crontab import Cron
from collective.cron.crontab import Crontab
from collective.cron.history import History
from collective.cron.interfaces import ICronManager
from collective.cron.registry import RECORD_ACTIVATED
from collective.cron.registry import RECORD_CRONTAB
from collective.cron.testing import set_now
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from plone import api
from plone.app.testing import TEST_USER_NAME
from zope.component import getMultiAdapter

import io
import json
import pytest
import tarfile


START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def trail(portal):
    set_now(START)
    return AuditTrail(portal)


@pytest.fixture
def cron(trail):
    crontab = Crontab.load()
    cron = Cron(
        uid="news",
        name="newsletter",
        periodicity="0 8 * * *",
        environ={"list": "members", "smtp_password": "hunter2"},
        crontab=crontab,
    )
    for hour in range(3):
        cron.log(date=START - timedelta(hours=hour), messages=[f"run {hour}"])
    crontab.save()
    return cron


def actions(trail, uid=None):
    return [(entry["action"], entry["uid"]) for entry in trail.entries(uid=uid)]


def manager(portal, cron):
    return getMultiAdapter((portal, cron), ICronManager)


def test_python_api_save_cron(trail, cron):
    cron.title = "Weekly news"
    cron.save()
    entry = trail.entries()[0]
    assert (entry["action"], entry["who"]) == ("changed", TEST_USER_NAME)
    assert entry["changes"] == [{"field": "title", "old": "", "new": "Weekly news"}]


def test_pause_resume_and_run_now(portal, trail, cron):
    set_now(START + timedelta(minutes=1))
    until = START + timedelta(days=1)
    assert manager(portal, cron).pause(until=until, reason="mail server moves")
    paused = trail.entries()[0]
    assert (paused["action"], paused["uid"], paused["name"]) == (
        "paused",
        "news",
        "newsletter",
    )
    assert paused["changes"] == [
        {"field": "paused", "old": False, "new": True},
        {"field": "paused_until", "old": None, "new": until.isoformat()},
        {"field": "paused_reason", "old": "", "new": "mail server moves"},
    ]
    assert manager(portal, cron).resume()
    assert trail.entries()[0]["changes"] == [
        {"field": "paused", "old": True, "new": False}
    ]
    assert not manager(portal, cron).resume()  # not paused: nothing happens
    manager(portal, cron).register_job(
        force=True, environ={"list": "test", "smtp_password": "other"}
    )
    run_now = trail.entries()[0]
    assert run_now["action"] == "run now"
    assert run_now["changes"] == [
        {"field": "environ.list", "old": "members", "new": "test"},
        {"field": "environ.smtp_password", "old": "***", "new": "***"},
    ]
    assert actions(trail, "news") == [
        ("run now", "news"),
        ("resumed", "news"),
        ("paused", "news"),
        ("added", "news"),
    ]


def test_a_scheduled_run_is_no_change(portal, trail, cron, recording):
    from collective.cron.testing import run_due_jobs

    set_now(datetime(2026, 3, 3, 8, 0, tzinfo=UTC))
    crontab = Crontab.load()
    crontab.by_uid("news").name = "mycronjob"
    crontab.save()
    before = len(trail.entries())
    set_now(datetime(2026, 3, 4, 8, 0, tzinfo=UTC))
    assert run_due_jobs(portal)
    assert recording.calls
    assert len(trail.entries()) == before


def test_log_deletion(portal, trail, cron):
    History(portal).delete("news", [0, 2])
    entry = trail.entries()[0]
    assert (entry["action"], entry["uid"], entry["name"]) == (
        "logs deleted",
        "news",
        "newsletter",
    )
    assert entry["changes"] == [{"field": "logs", "old": 3, "new": 1}]
    History(portal).delete("news", [5])  # no such log: nothing deleted
    assert len(trail.entries()) == 2
    History(portal).clear("news")
    assert trail.entries()[0]["changes"] == [{"field": "logs", "old": 1, "new": 0}]


def test_log_deletion_through_the_python_api(trail, cron):
    crontab = Crontab.load()
    crontab.by_uid("news").logs.pop(0)
    crontab.save()
    entry = trail.entries()[0]
    assert entry["action"] == "logs deleted"
    assert entry["changes"] == [{"field": "logs", "old": 3, "new": 2}]


def test_crons_xml_from_a_profile(portal, trail, setup_tool):
    setup_tool.runAllImportStepsFromProfile("profile-collective.cron:testing")
    entries = trail.entries()
    assert {entry["who"] for entry in entries} == {
        "GenericSetup profile collective.cron:testing"
    }
    assert actions(trail) == [
        ("imported", None),
        ("added", "purge"),
        ("added", "newsletter"),
    ]
    assert entries[0]["name"] == "crons.xml"
    assert entries[0]["changes"] == [{"field": "crons", "old": 0, "new": 2}]
    # Imported again: nothing changes, the import itself is recorded.
    setup_tool.runImportStepFromProfile(
        "profile-collective.cron:testing", "collective.cron.setupCrons"
    )
    assert actions(trail)[:2] == [("imported", None), ("imported", None)]


def test_crons_xml_tarball_edit_and_remove(portal, trail, cron, setup_tool):
    xml = """<?xml version="1.0"?>
<crons>
  <cron uid="news" periodicity="0 9 * * *">
    <environ><![CDATA[ {"list": "members", "smtp_password": "changed"} ]]></environ>
  </cron>
  <cron uid="other" name="other" periodicity="@hourly" />
  <cron uid="other" remove="true" />
</crons>"""
    data = xml.encode("utf-8")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("crons.xml")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    setup_tool.runAllImportStepsFromProfile(
        None, purge_old=False, archive=buffer.getvalue()
    )
    imported, changed = trail.entries()[:2]
    assert imported["who"] == changed["who"] == "GenericSetup tarball"
    assert changed["changes"] == [
        {"field": "periodicity", "old": "0 8 * * *", "new": "0 9 * * *"},
        {"field": "environ.smtp_password", "old": "***", "new": "***"},
    ]
    # Added and removed in one file: never stored, so no entry.
    assert len(trail.entries(uid="other")) == 0


def test_direct_edit_of_the_registry_records(portal, trail, cron):
    texts = api.portal.get_registry_record(RECORD_CRONTAB)
    data = json.loads(texts[0])
    data["periodicity"] = "@hourly"
    api.portal.set_registry_record(RECORD_CRONTAB, [json.dumps(data)])
    entry = trail.entries()[0]
    assert (entry["action"], entry["who"], entry["uid"]) == (
        "changed",
        TEST_USER_NAME,
        "news",
    )
    assert entry["changes"] == [
        {"field": "periodicity", "old": "0 8 * * *", "new": "@hourly"}
    ]
    api.portal.set_registry_record(RECORD_ACTIVATED, False)
    assert trail.entries()[0]["action"] == "crontab deactivated"
    api.portal.set_registry_record(RECORD_CRONTAB, [])
    assert actions(trail)[0] == ("removed", "news")


def test_a_crontab_built_in_memory_replaces_the_stored_one(trail, cron):
    crontab = Crontab()
    Cron(uid="fresh", name="fresh", periodicity="@daily", crontab=crontab)
    crontab.save()
    assert sorted(actions(trail)[:2]) == [("added", "fresh"), ("removed", "news")]
