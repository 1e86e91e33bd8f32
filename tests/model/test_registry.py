"""The crontab in the site registry: the 2.x API walk-through, 2.x data, errors."""

from collective.cron import crontab as mcrontab
from collective.cron.errors import InvalidCron
from collective.cron.interfaces import IModifiedCrontabEvent
from collective.cron.registry import RECORD_ACTIVATED
from collective.cron.registry import RECORD_CRONTAB
from collective.cron.status import Status
from collective.cron.testing import set_now
from datetime import UTC
from datetime import datetime
from plone import api
from zope.component import getGlobalSiteManager

import json
import pytest


# What collective.cron 2.x (Python 2 json.dumps) left in the registry.
REGISTRY_2X = [
    '{"uid": "1fd5b1c0f1d211e1", "name": "mycronjob", "user": null, '
    '"activated": true, "periodicity": "*/1 * * * *", "logs_limit": 25, '
    '"logs": [{"date": "2008-01-01 02:04:00", "status": 1, "messages": []}, '
    '{"date": "2008-01-01 01:04:00", "status": 2, "messages": ["partial"]}, '
    '{"date": "2008-01-01 00:04:00", "status": 0, "messages": ["boom"]}], '
    '"environ": {"foo": "bar"}}',
    '{"uid": "foogsuid2", "name": "foo2edite\\u00e9", "user": "admin", '
    '"activated": false, "periodicity": "*/2 * * * *", "logs_limit": 5, '
    '"logs": [], "environ": {"foo": "bar", "miche": "muche"}}',
]


def stored():
    return [json.loads(text) for text in api.portal.get_registry_record(RECORD_CRONTAB)]


@pytest.fixture
def events():
    seen = []
    gsm = getGlobalSiteManager()

    def handler(event):
        seen.append(event)

    gsm.registerHandler(handler, (IModifiedCrontabEvent,))
    yield seen
    gsm.unregisterHandler(handler, (IModifiedCrontabEvent,))


def test_api_walkthrough_2x(portal, events):
    """The 2.x documentation's API scenario, against the real registry."""
    set_now(datetime(2008, 1, 1, 1, 3))
    crt = mcrontab.Crontab()
    cron = mcrontab.Cron(
        name="mycronjob",
        activated=True,
        periodicity="*/1 * * * *",
        environ={"foo": "bar"},
        crontab=crt,
    )
    assert repr(cron).startswith("cron: mycronjob/")
    assert repr(cron).endswith("[ON:2008-01-01 01:04:00] {'foo': 'bar'}")

    # Replicate through dump/load: similar, found by name.
    crt2 = mcrontab.Crontab()
    crt2.add_cron(mcrontab.Cron.load(cron.dump()))
    assert crt2.by_name("mycronjob")[0].similar(cron)

    crt.save()
    assert len(events) == 1 and events[0].crontab is crt
    loaded = mcrontab.Crontab.load()
    assert list(loaded.crons) == [cron.uid]
    assert loaded.by_uid(cron.uid).similar(cron)

    # Toggle the cron, then the whole crontab.
    cron.activated = False
    crt.save()
    assert mcrontab.Crontab.load().by_uid(cron.uid).activated is False
    cron.activated = True
    crt.activated = False
    crt.save()
    again = mcrontab.Crontab.load()
    assert again.activated is False
    assert again.by_uid(cron.uid).activated is True
    crt.activated = True
    crt.save()
    assert api.portal.get_registry_record(RECORD_ACTIVATED) is True

    # Edit name and periodicity.
    cron.name = "myfoojob"
    cron.periodicity = "*/10 * * * *"
    crt.save()
    edited = mcrontab.Crontab.load().by_uid(cron.uid)
    assert (edited.name, edited.periodicity) == ("myfoojob", "*/10 * * * *")
    assert edited.snext == "2008-01-01 01:10:00"

    # A log, saved through the cron alone, then deleted.
    set_now(datetime(2008, 1, 1, 2, 4))
    edited.log(status=Status.OK)
    edited.save()
    ncron = mcrontab.Crontab.load().by_uid(cron.uid)
    assert repr(ncron.logs) == "[log: 2008-01-01 02:04:00/OK]"
    ncron.logs.pop(0)
    ncron.save()
    assert mcrontab.Crontab.load().by_uid(cron.uid).logs == []

    # Delete.
    del crt.crons[cron.uid]
    crt.save()
    assert mcrontab.Crontab.load().crons == {}
    assert stored() == []


def test_2x_registry_data_loads_unchanged(portal):
    api.portal.set_registry_record(RECORD_CRONTAB, list(REGISTRY_2X))
    crt = mcrontab.Crontab.load()
    first = crt.by_uid("1fd5b1c0f1d211e1")
    assert first.environ == {"foo": "bar"}
    assert first.logs_limit == 25
    assert [(log.sdate, log.status, log.messages) for log in first.logs] == [
        ("2008-01-01 02:04:00", Status.OK, []),
        ("2008-01-01 01:04:00", Status.WARN, ["partial"]),
        ("2008-01-01 00:04:00", Status.FAILURE, ["boom"]),
    ]
    assert first.logs[0].date == datetime(2008, 1, 1, 2, 4, tzinfo=UTC)
    second = crt.by_uid("foogsuid2")
    assert second.name == "foo2editeé"
    assert second.user == "admin"
    assert second.activated is False
    # Saving without changes rewrites nothing.
    crt.save()
    assert api.portal.get_registry_record(RECORD_CRONTAB) == REGISTRY_2X
    # The 2.x keys survive a save of a changed cron.
    second.activated = True
    crt.save()
    assert stored()[1]["activated"] is True
    assert stored()[0]["logs"] == json.loads(REGISTRY_2X[0])["logs"]


def test_invalid_value_saves_nothing(portal):
    crt = mcrontab.Crontab()
    cron = mcrontab.Cron(name="a", periodicity="@daily", crontab=crt)
    crt.save()
    before = api.portal.get_registry_record(RECORD_CRONTAB)
    other = mcrontab.Cron(name="b", periodicity="@hourly", crontab=crt)
    cron.environ["bad"] = object()  # slipped past the setter by mutation
    with pytest.raises(InvalidCron, match=f"Cron {cron.uid}: Invalid environ"):
        crt.save()
    assert api.portal.get_registry_record(RECORD_CRONTAB) == before
    assert other.uid not in {c["uid"] for c in stored()}


def test_fresh_crontab_replaces_stored_one(portal):
    api.portal.set_registry_record(RECORD_CRONTAB, list(REGISTRY_2X))
    crt = mcrontab.Crontab()
    mcrontab.Cron(name="only", periodicity="@daily", crontab=crt)
    crt.save()
    assert [c["name"] for c in stored()] == ["only"]


def test_save_cron_writes_only_that_cron(portal):
    api.portal.set_registry_record(RECORD_CRONTAB, list(REGISTRY_2X))
    crt = mcrontab.Crontab.load()
    first, second = crt.by_uid("1fd5b1c0f1d211e1"), crt.by_uid("foogsuid2")
    first.periodicity = "@hourly"  # changed in memory, not saved
    second.name = "renamed"
    second.save()
    assert [c["name"] for c in stored()] == ["mycronjob", "renamed"]
    assert stored()[0]["periodicity"] == "*/1 * * * *"


def test_site_timezone_is_default(portal):
    api.portal.set_registry_record("plone.portal_timezone", "Europe/Paris")
    set_now(datetime(2026, 7, 1, 0, 0))
    cron = mcrontab.Cron(name="a", periodicity="0 8 * * *")
    assert cron.next == datetime(2026, 7, 1, 6, 0, tzinfo=UTC)  # 08:00 CEST
    cron.timezone = "UTC"
    assert cron.next == datetime(2026, 7, 1, 8, 0, tzinfo=UTC)


def test_bad_cron_written_straight_to_registry_is_refused(portal):
    """A direct record edit (registry.xml, @registry) is loaded, so checked."""
    with pytest.raises(InvalidCron, match="Cron x: Invalid periodicity None"):
        api.portal.set_registry_record(
            RECORD_CRONTAB, [REGISTRY_2X[0], '{"name": "x"}']
        )


def test_not_installed_is_explained(portal, installer):
    installer.uninstall_product("collective.cron")
    with pytest.raises(LookupError, match="collective.cron is not installed"):
        mcrontab.Crontab.load()


def test_partial_load_saves_only_its_crons(portal):
    api.portal.set_registry_record(RECORD_CRONTAB, list(REGISTRY_2X))
    partial = mcrontab.Crontab.load(uids=["foogsuid2"])
    assert list(partial.crons) == ["foogsuid2"]
    partial.by_uid("foogsuid2").name = "edited"
    partial.save()
    assert [c["name"] for c in stored()] == ["mycronjob", "edited"]
    del partial.crons["foogsuid2"]
    partial.save()
    assert [c["uid"] for c in stored()] == ["1fd5b1c0f1d211e1"]
    assert mcrontab.Crontab.load(uids=["missing"]).crons == {}


def test_new_crons_keep_crontab_order(portal):
    api.portal.set_registry_record(RECORD_CRONTAB, list(REGISTRY_2X))
    crontab = mcrontab.Crontab.load()
    names = [f"added-{number}" for number in range(8)]
    for name in names:
        mcrontab.Cron(name=name, periodicity="@daily", crontab=crontab)
    crontab.save()
    assert [c["name"] for c in stored()] == ["mycronjob", "foo2editeé", *names]
