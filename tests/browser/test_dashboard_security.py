"""The dashboard is for managers only, changes need CSRF tokens, text is escaped."""

from collective.cron.crontab import Cron
from collective.cron.crontab import Crontab
from collective.cron.status import Status
from plone.app.testing import TEST_USER_NAME
from plone.app.testing import TEST_USER_PASSWORD
from zExceptions import BadRequest
from zExceptions import Forbidden
from zope.component.hooks import setSite

import pytest
import transaction


EVIL = '<script>alert("x")</script>'


@pytest.fixture
def evil_cron(functional_portal):
    setSite(functional_portal)
    crontab = Crontab.load()
    cron = Cron(
        uid="evil",
        name=EVIL,
        periodicity="@daily",
        environ={"html": EVIL},
        crontab=crontab,
    )
    cron.log(status=Status.FAILURE, messages=[EVIL], traceback=EVIL)
    crontab.save()
    transaction.commit()
    return cron


PAGES = ["@@cron-settings", "@@cron?uid=evil", "@@cron-add", "@@cron-edit?uid=evil"]


@pytest.mark.parametrize(
    "page", ["@@cron-settings", "@@cron?uid=evil", "@@cron-edit?uid=evil"]
)
def test_user_text_is_escaped(browser, functional_portal, evil_cron, page):
    browser.open(f"{functional_portal.absolute_url()}/{page}")
    assert EVIL not in browser.contents
    assert "&lt;script&gt;" in browser.contents


@pytest.mark.parametrize("page", [*PAGES, "@@cron-explain?periodicity=@daily"])
def test_anonymous_is_refused(anonymous, functional_portal, evil_cron, page):
    anonymous.open(f"{functional_portal.absolute_url()}/{page}")
    assert "require_login" in anonymous.url or "login" in anonymous.url
    assert "cron-table" not in anonymous.contents


@pytest.mark.parametrize("page", PAGES)
def test_member_is_refused(anonymous, functional_portal, evil_cron, page):
    anonymous.addHeader("Authorization", f"Basic {TEST_USER_NAME}:{TEST_USER_PASSWORD}")
    anonymous.open(f"{functional_portal.absolute_url()}/{page}")
    assert (
        "require_login" in anonymous.url
        or "Insufficient Privileges" in anonymous.contents
    )


def post(browser, url, data):
    from urllib.parse import urlencode

    browser.post(url, urlencode(data, doseq=True))


@pytest.mark.parametrize(
    "page,data",
    [
        ("@@cron-settings", {"cron_toggle": "1"}),
        ("@@cron-settings", {"uids_to_delete": ["evil"], "delete_crons": "Send"}),
        ("@@cron?uid=evil", {"cron_action": "delete-cron"}),
        ("@@cron?uid=evil", {"cron_action": "run-cron"}),
        ("@@cron?uid=evil", {"logs_to_delete": ["0"], "logdelete": "1"}),
    ],
)
def test_changes_without_csrf_token_are_refused(
    browser, functional_portal, evil_cron, page, data
):
    with pytest.raises(Forbidden):
        post(browser, f"{functional_portal.absolute_url()}/{page}", data)
    transaction.begin()
    crontab = Crontab.load()
    assert crontab.activated is True
    assert len(crontab.by_uid("evil").logs) == 1


def test_changes_by_get_are_refused(browser, functional_portal, evil_cron):
    with pytest.raises(BadRequest):
        browser.open(
            f"{functional_portal.absolute_url()}/@@cron-settings?cron_toggle=1"
        )
    transaction.begin()
    assert Crontab.load().activated is True


def test_form_errors_name_the_bad_value(browser, functional_portal):
    browser.open(f"{functional_portal.absolute_url()}/@@cron-add")
    browser.getControl(name="form.widgets.name").value = "x"
    browser.getControl(name="form.widgets.periodicity").value = "0 0 30 2 *"
    browser.getControl(name="form.widgets.senviron").value = "[1, 2]"
    browser.getControl(name="form.widgets.user").value = "nobody-here"
    browser.getControl("Add").click()
    assert (
        "Invalid periodicity &#x27;0 0 30 2 *&#x27;: bad day-of-month"
        in browser.contents
        or ("Invalid periodicity '0 0 30 2 *': bad day-of-month" in browser.contents)
    )
    assert "must be a JSON object" in browser.contents
    # Once the settings are valid, who the cron runs as is checked.
    browser.getControl(name="form.widgets.periodicity").value = "@daily"
    browser.getControl(name="form.widgets.senviron").value = "{}"
    browser.getControl("Add").click()
    assert "Invalid user &#x27;nobody-here&#x27;: no user has this login" in (
        browser.contents.replace("'", "&#x27;")
    )
    transaction.begin()
    assert Crontab.load().crons == {}
