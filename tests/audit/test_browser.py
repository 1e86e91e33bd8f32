"""The forms, the cron page, the dashboard and REST leave entries, and the
pages show them: the cron page's "Changes" and the site-wide @@cron-changes."""

from collective.cron.audit import AuditTrail
from collective.cron.crontab import Cron
from collective.cron.crontab import Crontab
from collective.cron.testing import set_now
from datetime import UTC
from datetime import datetime
from plone import api
from plone.app.testing import SITE_OWNER_NAME
from plone.app.testing import SITE_OWNER_PASSWORD
from plone.testing.zope import Browser
from tests.support.rest import rest_session
from zope.component.hooks import setSite

import pytest
import transaction


# 09:30 UTC is 10:30 in Paris (the site's zone in these tests).
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@pytest.fixture
def site(functional_portal):
    setSite(functional_portal)
    set_now(NOW)
    api.portal.set_registry_record("plone.portal_timezone", "Europe/Paris")
    crontab = Crontab.load()
    cron = Cron(
        uid="news",
        name="newsletter",
        periodicity="0 8 * * *",
        environ={"list": "members", "api_token": "s3cr3t-value"},
        crontab=crontab,
    )
    cron.log(messages=["first"])
    cron.log(messages=["second"])
    crontab.save()
    transaction.commit()
    return functional_portal


@pytest.fixture
def browser(functional_app, site):
    browser = Browser(functional_app)
    browser.handleErrors = False
    browser.addHeader("Authorization", f"Basic {SITE_OWNER_NAME}:{SITE_OWNER_PASSWORD}")
    return browser


def entries(site, uid=None):
    transaction.begin()  # see what the browser's requests committed
    return list(AuditTrail(site).entries(uid=uid))


def actions(site, uid=None):
    return [entry["action"] for entry in entries(site, uid)]


def test_forms_and_cron_page_actions_are_recorded(browser, site):
    url = site.absolute_url()
    browser.open(f"{url}/@@cron-add")
    browser.getControl(name="form.widgets.name").value = "newsletter"
    browser.getControl(name="form.widgets.periodicity").value = "*/5 * * * *"
    browser.getControl(name="form.widgets.senviron").value = '{"password": "pw1"}'
    browser.getControl("Add").click()
    added = entries(site)[0]
    assert (added["action"], added["who"]) == ("added", SITE_OWNER_NAME)
    assert {"field": "environ.password", "old": None, "new": "***"} in added["changes"]
    new_uid = added["uid"]

    browser.open(f"{url}/@@cron-edit?uid=news")
    browser.getControl(name="form.widgets.periodicity").value = "0 9 * * *"
    browser.getControl("Apply").click()
    changed = entries(site, "news")[0]
    assert changed["action"] == "changed"
    assert changed["who"] == SITE_OWNER_NAME
    assert {"field": "periodicity", "old": "0 8 * * *", "new": "0 9 * * *"} in (
        changed["changes"]
    )

    browser.open(f"{url}/@@cron?uid=news")
    browser.getControl(name="run_environ").value = '{"list": "test"}'
    browser.getControl("Run now").click()
    browser.getControl(name="pause_reason").value = "holidays"
    browser.getForm(name="cron_pause_form").submit(label="Pause")
    browser.getForm(name="cron_pause_form").submit(label="Resume")
    browser.getControl(name="logs_to_delete").value = ["0"]
    browser.getControl("Delete selected logs").click()
    assert actions(site, "news")[:5] == [
        "logs deleted",
        "resumed",
        "paused",
        "run now",
        "changed",
    ]

    # The dashboard: the switch, a row's action, deleting a cron.
    browser.open(f"{url}/@@cron-settings")
    browser.getForm(name="cron_toggle_form").submit()
    browser.getForm(name="cron_delete_form").submit(label="Deactivate", index=0)
    browser.getControl(name="uids_to_delete").value = [new_uid]
    browser.getControl("Delete selected").click()
    site_wide = actions(site)
    assert site_wide[:4] == [
        "removed",
        "changed",
        "crontab deactivated",
        "logs deleted",
    ]


def test_the_cron_page_shows_its_changes(browser, site):
    cron = Crontab.load().by_uid("news")
    cron.environ = {"list": "<script>alert(1)</script>", "api_token": "n3w-value"}
    cron.save()
    transaction.commit()
    browser.open(f"{site.absolute_url()}/@@cron?uid=news")
    section = browser.contents.split('id="cron-changes"', 1)[1]
    assert "The newest 2 of 2 changes of this cron." in " ".join(section.split())
    assert "2026-03-02 10:30:00" in section  # the site's zone
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in section
    assert "<script>alert(1)" not in browser.contents
    assert "s3cr3t-value" not in section
    assert "n3w-value" not in section
    assert "***" in section
    browser.getLink(id="all-cron-changes").click()
    assert browser.url.endswith("/@@cron-changes?uid=news")


def test_the_site_wide_changes_page_is_batched(browser, site):
    trail = AuditTrail(site)
    for number in range(60):
        trail.record("run now", uid=f"cron{number}", name=f"name{number}")
    transaction.commit()
    browser.open(f"{site.absolute_url()}/@@cron-settings")
    browser.getLink(id="cron-changes").click()
    assert browser.url.endswith("/@@cron-changes")
    assert "Changes: 61, newest first" in " ".join(browser.contents.split())
    assert "name59" in browser.contents
    assert "name9<" not in browser.contents  # on the second page
    browser.getLink("Next 11 items").click()
    assert "name9<" in browser.contents
    assert "newsletter" in browser.contents  # the oldest: the cron added


def test_the_changes_page_needs_the_permission(functional_app, site):
    anonymous = Browser(functional_app)
    anonymous.open(f"{site.absolute_url()}/@@cron-changes")
    assert "login" in anonymous.url or "require_login" in anonymous.url


@pytest.fixture
def rest(site):
    session = rest_session(site)
    yield session
    session.close()


def test_rest_changes_are_recorded(rest, site):
    response = rest.post("@crons/news/@pause", json={"reason": "holidays"})
    assert response.status_code < 300, response.text
    response = rest.post("@crons/news/@resume")
    assert response.status_code < 300, response.text
    found = entries(site, "news")
    assert [entry["action"] for entry in found[:2]] == ["resumed", "paused"]
    assert {entry["who"] for entry in found[:2]} == {SITE_OWNER_NAME}
