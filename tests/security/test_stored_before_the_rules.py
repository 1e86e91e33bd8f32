"""Crons saved before a rule existed (by an earlier build) do not break the
dashboard, the REST API or crons.xml: they are set aside, named, not run, and
their stored text is kept until someone saves a cron of that uid."""

from collective.cron.crontab import Cron
from collective.cron.crontab import Crontab
from collective.cron.errors import InvalidCron
from collective.cron.registry import RECORD_CRONTAB
from plone.registry.interfaces import IRegistry
from tests.security.helpers import PASSWORD
from tests.support.rest import rest_session
from zope.component import getUtility
from zope.component.hooks import setSite

import json
import pytest
import transaction


def legacy(uid, **settings):
    data = Cron(uid="placeholder", name="mycronjob", periodicity="@daily").dump(
        logs=False
    )
    data.update(uid=uid, **settings)
    return json.dumps(data)


LEGACY = [
    legacy("steps", periodicity="*/90 * * * *"),
    legacy("zone", timezone="posixrules"),
    legacy("a&b=1#frag"),
    legacy("escape", name="../acl_users/users/listUserIds"),
    legacy("good"),
    json.dumps({**json.loads(legacy("nan")), "environ": {"a": float("nan")}}),
]


@pytest.fixture
def stored_before(functional_portal, users):
    setSite(functional_portal)
    registry = getUtility(IRegistry)
    # Written as an earlier build did: below the record's checks and events.
    registry.records._values[RECORD_CRONTAB] = list(LEGACY)
    Crontab().manager.reindex()  # as that build's save, or the upgrade, did
    transaction.commit()
    return LEGACY


def stored_texts():
    transaction.begin()
    return list(getUtility(IRegistry).records._values[RECORD_CRONTAB])


def test_strict_load_names_the_first(stored_before):
    with pytest.raises(InvalidCron, match="Cron steps: Invalid periodicity"):
        Crontab.load()


def test_dashboard_lists_them_and_works(browser_as, functional_portal, stored_before):
    browser = browser_as("siteadmin")
    browser.open(f"{functional_portal.absolute_url()}/@@cron-settings")
    text = browser.contents.replace("&#x27;", "'").replace("&quot;", '"')
    assert "These stored crons break a rule" in text
    assert "Cron steps: Invalid periodicity '*/90 * * * *'" in text
    assert "Cron zone: Invalid timezone 'posixrules'" in text
    assert "Cron a&amp;b=1#frag: Invalid uid 'a&amp;b=1#frag'" in text
    assert "Cron escape: Invalid name '../acl_users/users/listUserIds'" in text
    assert "Cron nan: Invalid environ" in text
    assert browser.getLink("mycronjob").url.endswith("/@@cron?uid=good")

    # Saving another cron keeps their stored text as it is.
    browser.getLink("Add a task").click()
    browser.getControl(name="form.widgets.name").value = "newjob"
    browser.getControl(name="form.widgets.periodicity").value = "@hourly"
    browser.getControl("Add").click()
    assert "A new cron was added" in browser.contents
    texts = stored_texts()
    assert texts[: len(LEGACY)] == LEGACY
    assert [json.loads(t)["name"] for t in texts[len(LEGACY) :]] == ["newjob"]


def test_saving_the_uid_again_replaces_it(exportimport_as_manager, stored_before):
    exportimport_as_manager.do_import(
        '<crons><cron uid="steps" name="mycronjob" periodicity="*/30 * * * *"/></crons>'
    )
    transaction.commit()
    texts = stored_texts()
    assert json.loads(texts[0])["periodicity"] == "*/30 * * * *"
    assert texts[1:] == LEGACY[1:]


@pytest.fixture
def exportimport_as_manager(functional_portal):
    from collective.cron.interfaces import IExportImporter
    from zope.component import getMultiAdapter

    setSite(functional_portal)
    return getMultiAdapter((functional_portal, Crontab()), IExportImporter)


def test_rest_api_lists_them(functional_portal, stored_before):
    session = rest_session(functional_portal, ("siteadmin", PASSWORD))
    response = session.get("@crons")
    session.close()
    assert response.status_code == 200
    data = response.json()
    assert [item["uid"] for item in data["items"]] == ["good"]
    assert len(data["broken"]) == 5
    assert data["broken"][0].startswith("Cron steps: Invalid periodicity")
