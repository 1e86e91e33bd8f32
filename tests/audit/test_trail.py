"""The audit trail itself: entries, order, batching, the bound, masking, who."""

from collective.cron.audit import SYSTEM
from collective.cron.audit import AuditTrail
from collective.cron.audit import acting_as
from collective.cron.crontab import Cron
from collective.cron.crontab import Crontab
from collective.cron.testing import set_now
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from plone import api
from plone.app.testing import TEST_USER_NAME
from plone.app.testing import logout

import pytest


START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def trail(portal):
    set_now(START)
    return AuditTrail(portal)


def add_cron(uid="news", **settings):
    crontab = Crontab.load()
    settings.setdefault("name", "newsletter")
    settings.setdefault("periodicity", "@daily")
    cron = Cron(uid=uid, crontab=crontab, **settings)
    crontab.save()
    return cron


def test_empty_trail(trail):
    entries = trail.entries()
    assert len(entries) == 0
    assert list(entries) == []
    assert entries[0:10] == []


def test_an_added_cron_is_recorded_with_its_settings(trail):
    add_cron(environ={"list": "members"}, title="Newsletter")
    [entry] = trail.entries()
    assert entry["date"] == START
    assert entry["date"].tzinfo is not None
    assert (entry["who"], entry["uid"], entry["name"], entry["action"]) == (
        TEST_USER_NAME,
        "news",
        "newsletter",
        "added",
    )
    changes = {
        change["field"]: (change["old"], change["new"]) for change in entry["changes"]
    }
    assert changes["periodicity"] == (None, "@daily")
    assert changes["environ.list"] == (None, "members")
    assert changes["title"] == (None, "Newsletter")
    assert changes["saved_by"] == (None, TEST_USER_NAME)
    assert "logs" not in changes


def test_a_change_lists_the_fields_that_changed_only(trail):
    add_cron(environ={"list": "members", "limit": 5})
    set_now(START + timedelta(minutes=5))
    crontab = Crontab.load()
    cron = crontab.by_uid("news")
    cron.periodicity = "0 8 * * *"
    cron.environ = {"list": "all", "extra": True}
    cron.log(messages=["a run recorded through the Python API is no change"])
    crontab.save()
    newest = trail.entries()[0]
    assert newest["action"] == "changed"
    assert newest["date"] == START + timedelta(minutes=5)
    assert newest["changes"] == [
        {"field": "periodicity", "old": "@daily", "new": "0 8 * * *"},
        {"field": "environ.extra", "old": None, "new": True},
        {"field": "environ.limit", "old": 5, "new": None},
        {"field": "environ.list", "old": "members", "new": "all"},
    ]
    assert len(trail.entries()) == 2


def test_saving_without_a_change_records_nothing(trail):
    add_cron()
    crontab = Crontab.load()
    crontab.save()
    crontab.by_uid("news").save()
    assert [entry["action"] for entry in trail.entries()] == ["added"]


def test_removed_cron_and_the_global_switch(trail):
    add_cron()
    crontab = Crontab.load()
    crontab.activated = False
    del crontab.crons["news"]
    crontab.save()
    removed, switched = sorted(trail.entries()[:2], key=lambda entry: entry["action"])
    assert switched["action"] == "removed"
    assert switched["changes"][0] == {"field": "name", "old": "newsletter", "new": None}
    assert removed["action"] == "crontab deactivated"
    assert (removed["uid"], removed["name"]) == (None, "")
    assert removed["changes"] == [{"field": "activated", "old": True, "new": False}]
    crontab.activated = True
    crontab.save()
    assert trail.entries()[0]["action"] == "crontab activated"


def test_newest_first_and_slices_for_batching(trail):
    for minute in range(7):
        set_now(START + timedelta(minutes=minute))
        add_cron(uid=f"cron{minute}")
    entries = trail.entries()
    assert len(entries) == 7
    uids = [entry["uid"] for entry in entries]
    assert uids == [f"cron{minute}" for minute in reversed(range(7))]
    assert [entry["uid"] for entry in entries[2:5]] == uids[2:5]
    assert [entry["uid"] for entry in entries[5:50]] == uids[5:]
    assert entries[-1]["uid"] == "cron0"
    assert [entry["uid"] for entry in entries[::3]] == uids[::3]
    with pytest.raises(IndexError):
        entries[7]


def test_entries_of_one_cron(trail):
    add_cron(uid="one")
    add_cron(uid="two")
    crontab = Crontab.load()
    crontab.by_uid("one").periodicity = "@hourly"
    crontab.save()
    assert [entry["action"] for entry in trail.entries(uid="one")] == [
        "changed",
        "added",
    ]
    assert [entry["uid"] for entry in trail.entries(uid="two")] == ["two"]
    assert len(trail.entries(uid="nothing")) == 0


def test_the_trail_keeps_audit_size_entries(trail):
    api.portal.set_registry_record("collective.cron.audit_size", 20)
    for number in range(75):
        set_now(START + timedelta(seconds=number))
        trail.record("run now", uid=f"cron{number}", name="x")
    entries = trail.entries()
    assert len(entries) == 20
    assert entries[0]["uid"] == "cron74"
    assert entries[-1]["uid"] == "cron55"
    # Stored: at most a tenth over the size (the oldest go in batches).
    storage = trail._storage()
    assert 20 <= len(storage.entries) <= 22
    assert storage.length() == len(storage.entries)


def test_a_smaller_size_shows_fewer_entries_at_once(trail):
    for number in range(10):
        trail.record("run now", uid=f"cron{number}", name="x")
    api.portal.set_registry_record("collective.cron.audit_size", 3)
    assert [entry["uid"] for entry in trail.entries()] == ["cron9", "cron8", "cron7"]


def test_secret_environ_values_are_masked_in_old_and_new(trail):
    add_cron(environ={"SMTP_Password": "hunter2", "apiToken": "t1", "list": "all"})
    crontab = Crontab.load()
    crontab.by_uid("news").environ = {
        "SMTP_Password": "hunter3",
        "apiToken": "t1",
        "list": "members",
    }
    crontab.save()
    changed, added = trail.entries()
    assert changed["changes"] == [
        {"field": "environ.SMTP_Password", "old": "***", "new": "***"},
        {"field": "environ.list", "old": "all", "new": "members"},
    ]
    secrets = [c for c in added["changes"] if c["field"] != "environ.list"]
    assert "hunter2" not in repr(secrets) and "t1" not in repr(
        [c["new"] for c in added["changes"] if c["field"] == "environ.apiToken"]
    )


def test_the_secret_words_are_a_site_setting(trail):
    api.portal.set_registry_record("collective.cron.audit_secret_keys", ["pin"])
    add_cron(environ={"card_PIN": "1234", "password": "visible now"})
    changes = {c["field"]: c["new"] for c in trail.entries()[0]["changes"]}
    assert changes["environ.card_PIN"] == "***"
    assert changes["environ.password"] == "visible now"


def test_a_whole_environ_value_is_masked_by_key(trail):
    entry = trail.record(
        "run now",
        uid="x",
        name="x",
        changes=[{"field": "environ", "old": None, "new": {"token": "t", "a": 1}}],
    )
    assert entry["changes"][0]["new"] == {"token": "***", "a": 1}


def test_long_values_are_cut(trail):
    entry = trail.record(
        "changed",
        uid="x",
        name="x",
        changes=[{"field": "description", "old": "", "new": "x" * 5000}],
    )
    assert len(entry["changes"][0]["new"]) < 2100
    assert entry["changes"][0]["new"].endswith("characters cut]")


def test_who_acting_as_and_system(trail):
    with acting_as("GenericSetup profile my.site:default"):
        add_cron(uid="one")
    assert trail.entries()[0]["who"] == "GenericSetup profile my.site:default"
    logout()
    add_cron(uid="two")
    assert trail.entries()[0]["who"] == SYSTEM


def test_unknown_action_is_refused_and_writes_nothing(trail):
    with pytest.raises(ValueError, match="'renamed'"):
        trail.record("renamed", uid="x")
    assert len(trail.entries()) == 0


def test_entries_are_copies(trail):
    add_cron()
    entry = trail.entries()[0]
    entry["changes"].clear()
    entry["who"] = "someone else"
    assert trail.entries()[0]["changes"]
    assert trail.entries()[0]["who"] == TEST_USER_NAME
