"""Who may do what: every page, form, POST action and REST service of the
add-on, for anonymous, Member, Editor, Site Administrator and Manager.

The pages are those of browser/configure.zcml, the services those of
restapi/configure.zcml. Refused means: sent to the login form, 401 or 403,
and nothing stored changed. Allowed means: the page answers, and an action
does what it says.
"""

from collective.cron.crontab import Cron
from collective.cron.crontab import Crontab
from collective.cron.interfaces import ICronManager
from tests.security.helpers import PASSWORD
from tests.security.helpers import ROLES
from tests.security.helpers import post
from tests.security.helpers import stored
from tests.security.helpers import token
from tests.support.rest import rest_session
from zope.component import getMultiAdapter

import pytest
import transaction


ALLOWED = {"siteadmin", "manager"}

PAGES = [
    "@@cron-settings",
    "@@cron?uid=boss",
    "@@cron-add",
    "@@cron-edit?uid=boss",
    "@@cron-explain?periodicity=@daily",
]

FORM = {
    "form.widgets.name": "mycronjob",
    "form.widgets.periodicity": "@hourly",
    "form.widgets.senviron": "{}",
    "form.widgets.logs_limit": "5",
    "form.widgets.user": "",
    "form.widgets.timezone:list": "--NOVALUE--",
    "form.widgets.misfire:list": "run_once",
    "form.widgets.notify:list": "never",
    "form.widgets.activated:list": "selected",
}

ACTIONS = {
    "toggle the crontab": ("@@cron-settings", {"cron_toggle": "1"}),
    "delete crons": (
        "@@cron-settings",
        {"uids_to_delete": ["boss"], "delete_crons": "Send"},
    ),
    "pause crons": (
        "@@cron-settings",
        {"uids_to_delete": ["boss"], "pause_crons": "pause"},
    ),
    "resume crons": (
        "@@cron-settings",
        {"uids_to_delete": ["boss"], "resume_crons": "resume"},
    ),
    "row: run now": ("@@cron-settings", {"row_action": "run:boss"}),
    "row: pause": ("@@cron-settings", {"row_action": "pause:boss"}),
    "row: deactivate": ("@@cron-settings", {"row_action": "deactivate:boss"}),
    "run now": ("@@cron?uid=boss", {"cron_action": "run-cron"}),
    "pause the cron": (
        "@@cron?uid=boss",
        {"cron_action": "pause-cron", "pause_reason": "maintenance"},
    ),
    "resume the cron": ("@@cron?uid=boss", {"cron_action": "resume-cron"}),
    "delete the cron": ("@@cron?uid=boss", {"cron_action": "delete-cron"}),
    "delete logs": ("@@cron?uid=boss", {"logs_to_delete": ["0"], "logdelete": "1"}),
    "delete all logs": (
        "@@cron?uid=boss",
        {"alllogs_to_delete": "1", "logdeletetop": "1"},
    ),
    "add form": ("@@cron-add", {**FORM, "form.buttons.add": "Add"}),
    # The cron runs as the Zope root's admin: whoever edits it resets Run as
    # to themselves (empty), as the run-as rule asks.
    "edit form": ("@@cron-edit?uid=boss", {**FORM, "form.buttons.apply": "Apply"}),
}


def text(browser):
    contents = browser.contents
    return contents.decode("utf-8") if isinstance(contents, bytes) else contents


def refused(browser):
    status = int(browser.headers["status"].split()[0])
    return (
        status in (401, 403)
        or "require_login" in browser.url
        or "/login?came_from=" in browser.url
        or "Insufficient Privileges" in text(browser)
    )


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("page", PAGES)
def test_pages(browser_as, functional_portal, stored_cron, role, page):
    browser = browser_as(role, handle_errors=True)
    browser.raiseHttpErrors = False
    browser.open(f"{functional_portal.absolute_url()}/{page}")
    if role in ALLOWED:
        assert browser.headers["status"].startswith("200")
        assert not refused(browser)
    else:
        assert refused(browser)
        assert "mycronjob" not in text(browser)  # nothing of the cron shown


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", ACTIONS)
def test_actions(browser_as, functional_portal, stored_cron, role, action):
    page, data = ACTIONS[action]
    if action.startswith("resume"):
        # Something to resume: the cron is paused first.
        getMultiAdapter((functional_portal, stored_cron), ICronManager).pause()
        transaction.commit()
    before = stored()
    if role in ALLOWED:
        browser = browser_as(role)
        data = {**data, "_authenticator": token(browser, functional_portal)}
        post(browser, f"{functional_portal.absolute_url()}/{page}", data)
        assert browser.headers["status"].startswith("200")
        assert "There were some errors" not in browser.contents
        assert stored() != before
    else:
        browser = browser_as(role, handle_errors=True)
        browser.raiseHttpErrors = False
        post(browser, f"{functional_portal.absolute_url()}/{page}", data)
        assert refused(browser)
        assert stored() == before


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("service", ["@crons", "@crons/boss"])
def test_rest_services(functional_portal, stored_cron, role, service):
    session = session_as(functional_portal, role)
    response = session.get(service)
    session.close()
    if role in ALLOWED:
        assert response.status_code == 200
        assert "boss" in response.text
    else:
        assert response.status_code == 401
        assert "boss" not in response.text


# Every @crons service (restapi/services/crons/configure.zcml) but the reads
# above: (method, path, JSON body). The cron "mine" runs as whoever saves it,
# so a Site Administrator may change it; "boss" runs as the Zope Manager.
REST_WRITES = {
    "add": ("POST", "@crons", {"name": "mycronjob", "periodicity": "@hourly"}),
    "edit": ("PATCH", "@crons/mine", {"periodicity": "@hourly"}),
    "delete": ("DELETE", "@crons/mine", None),
    "run now": ("POST", "@crons/mine/@run", None),
    "pause": ("POST", "@crons/boss/@pause", {"reason": "x"}),
    "resume": ("POST", "@crons/paused/@resume", None),
    "delete logs": ("DELETE", "@crons/boss/@logs", None),
    "crontab switch": ("PATCH", "@crons", {"activated": False}),
    "import": (
        "POST",
        "@crons/@import",
        {"xml": '<crons><cron uid="new" name="x" periodicity="@daily"/></crons>'},
    ),
}
REST_READS = [
    "@crons/@export",
    "@crons/@audit",
    "@crons/boss/@audit",
    "@crons-explain?periodicity=@daily",
]


@pytest.fixture
def rest_crons(functional_portal, stored_cron):
    """Besides "boss": "mine" (runs as its saver) and "paused"."""
    crontab = Crontab.load()
    Cron(uid="mine", name="mycronjob", periodicity="@daily", crontab=crontab)
    paused = Cron(uid="paused", name="mycronjob", periodicity="@daily", crontab=crontab)
    crontab.save()
    getMultiAdapter((functional_portal, paused), ICronManager).pause()
    transaction.commit()


def session_as(portal, role):
    return rest_session(portal, None if role == "anonymous" else (role, PASSWORD))


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", sorted(REST_WRITES))
def test_rest_writes(functional_portal, rest_crons, role, action):
    method, path, body = REST_WRITES[action]
    before = stored()
    with session_as(functional_portal, role) as session:
        response = session.request(method, path, json=body)
    if role in ALLOWED:
        assert response.status_code < 300, response.text
        assert stored() != before
    else:
        assert response.status_code == 401
        assert stored() == before


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("service", REST_READS)
def test_rest_reads(functional_portal, rest_crons, role, service):
    with session_as(functional_portal, role) as session:
        response = session.get(service)
    if role in ALLOWED:
        assert response.status_code == 200, response.text
    else:
        assert response.status_code == 401
        assert "boss" not in response.text


@pytest.mark.parametrize("role", ROLES)
def test_controlpanel(functional_portal, rest_crons, role):
    """Volto's Site Setup: listed and editable for who manages crons only."""
    before = stored()
    with session_as(functional_portal, role) as session:
        listed = session.get("@controlpanels")
        read = session.get("@controlpanels/cron-dashboard")
        written = session.patch(
            "@controlpanels/cron-dashboard", json={"activated": False}
        )
    if role in ALLOWED:
        assert "cron-dashboard" in listed.text
        assert read.json()["data"]["activated"] is True
        assert written.status_code == 204, written.text
        assert stored()["activated"] is False
    else:
        assert "cron-dashboard" not in listed.text
        assert read.status_code == 401
        assert written.status_code == 401
        assert stored() == before


# The health endpoints (health.zcml) answer 503 while no worker runs, as here.
@pytest.mark.parametrize("role", ROLES)
def test_health_page(browser_as, functional_portal, stored_cron, role):
    browser = browser_as(role, handle_errors=True)
    browser.raiseHttpErrors = False
    browser.open(f"{functional_portal.absolute_url()}/@@cron-health")
    if role in ALLOWED:
        assert browser.headers["status"].split()[0] in ("200", "503")
        assert "boss" in text(browser)
    else:
        assert refused(browser)
        assert "mycronjob" not in text(browser)


@pytest.mark.parametrize("role", ROLES)
def test_health_rest_service(functional_portal, stored_cron, role):
    session = session_as(functional_portal, role)
    response = session.get("@crons-health")
    session.close()
    if role in ALLOWED:
        assert response.status_code in (200, 503)
        assert "boss" in response.text
    else:
        assert response.status_code == 401
        assert "mycronjob" not in response.text
