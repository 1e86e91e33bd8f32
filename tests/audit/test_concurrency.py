"""Two transactions recording entries at the same time both commit: the trail
adds no conflict of its own. Real connections to the functional layer's
database, one transaction manager each, as two Zope threads have."""

from collective.cron.audit import AuditTrail
from collective.cron.crontab import Cron
from collective.cron.crontab import Crontab
from collective.cron.interfaces import ICronManager
from plone.app.testing import SITE_OWNER_NAME
from tests.support.clients import Client
from ZODB.POSException import ConflictError
from zope.component import getMultiAdapter
from zope.component.hooks import setSite

import pytest


def prepare(db, entries=0):
    """Crons one and two with jobs, and `entries` entries in the trail."""
    client = Client(db)
    with client:
        crontab = Crontab()
        Cron(uid="one", name="one", periodicity="@daily", crontab=crontab)
        Cron(uid="two", name="two", periodicity="@daily", crontab=crontab)
        crontab.save()
        trail = AuditTrail(client.portal)
        for number in range(entries):
            trail.record("run now", uid=f"old{number}", name="old", who="setup")
    client.tm.commit()
    client.close()


@pytest.fixture
def clients(functional):
    db = functional["zodbDB"]
    made = []

    def make(entries=0):
        prepare(db, entries)
        made.extend([Client(db), Client(db)])
        return made[-2:]

    yield make
    for client in made:
        client.close()
    setSite(None)


def pause(client, uid, reason):
    with client:
        cron = Crontab.load(uids=[uid]).by_uid(uid)
        getMultiAdapter((client.portal, cron), ICronManager).pause(
            reason=reason, by=SITE_OWNER_NAME
        )


def trail_of(db):
    reader = Client(db)
    try:
        with reader:
            return list(AuditTrail(reader.portal).entries())
    finally:
        reader.close()


@pytest.mark.parametrize("entries", [0, 150])
def test_two_pauses_of_different_crons_at_once_both_commit(
    functional, clients, entries
):
    first, second = clients(entries)
    pause(first, "one", "first thread")  # open, not committed...
    pause(second, "two", "second thread")  # ...while the second commits
    second.tm.commit()
    first.tm.commit()  # no ConflictError: the entries merge
    found = trail_of(functional["zodbDB"])
    reasons = {
        entry["uid"]: entry["changes"][-1]["new"]
        for entry in found
        if entry["action"] == "paused"
    }
    assert reasons == {"one": "first thread", "two": "second thread"}
    assert len(found) == entries + 4  # and the two crons added


def test_a_trim_and_a_record_at_once_both_commit(functional, clients):
    """One transaction drops the oldest entries (the trail is a tenth over
    its size) while another records: different buckets, both commit."""
    db = functional["zodbDB"]
    setup = Client(db)
    with setup:
        setup.portal.portal_registry["collective.cron.audit_size"] = 100
    setup.tm.commit()
    setup.close()
    first, second = clients(entries=107)  # 109 with the two crons added
    with first:
        AuditTrail(first.portal).record("run now", uid="one", name="one")
        AuditTrail(first.portal).record("run now", uid="one", name="one")
        assert len(AuditTrail(first.portal)._storage().entries) == 100  # trimmed
    pause(second, "two", "meanwhile")
    second.tm.commit()
    first.tm.commit()
    found = trail_of(db)
    assert len(found) == 100
    assert [entry["uid"] for entry in found[:3]] == ["two", "one", "one"]


def test_two_edits_of_different_crons_are_both_recorded(functional, clients):
    """The crontab's registry record conflicts (Zope replays the request);
    after the replay both edits and both entries are there."""
    first, second = clients()

    def edit(client, uid, periodicity):
        with client:
            crontab = Crontab.load()
            crontab.by_uid(uid).periodicity = periodicity
            crontab.save()

    edit(first, "one", "@hourly")
    edit(second, "two", "@weekly")
    second.tm.commit()
    with pytest.raises(ConflictError):
        first.tm.commit()
    first.tm.abort()
    edit(first, "one", "@hourly")  # the publisher's retry
    first.tm.commit()
    changed = {
        entry["uid"]: entry["changes"]
        for entry in trail_of(functional["zodbDB"])
        if entry["action"] == "changed"
    }
    assert changed == {
        "one": [{"field": "periodicity", "old": "@daily", "new": "@hourly"}],
        "two": [{"field": "periodicity", "old": "@daily", "new": "@weekly"}],
    }
