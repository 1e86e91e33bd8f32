"""A Site Administrator cannot make a cron run with rights they lack.

Each reproduction of issue #13 (part 1), replayed as a real Site
Administrator logged in through zope.testbrowser; crons.xml uploaded as a
tarball through portal_setup; the run-time check of cron paths.
"""

from AccessControl import Unauthorized
from collective.cron.crontab import Cron
from collective.cron.crontab import Crontab
from collective.cron.exportimport import CronsXMLError
from collective.cron.runners import find_runner
from collective.cron.status import Status
from collective.cron.testing import run_due_jobs
from collective.cron.testing import set_now
from datetime import datetime
from OFS.Folder import manage_addFolder
from plone import api
from plone.app.testing import SITE_OWNER_NAME
from plone.app.testing import login
from tests.security.helpers import stored

import io
import pytest
import tarfile
import transaction


def add(browser, portal, **values):
    """Fill @@cron-add (name and periodicity given defaults) and submit it."""
    browser.open(f"{portal.absolute_url()}/@@cron-add")
    values.setdefault("name", "mycronjob")
    values.setdefault("periodicity", "@daily")
    for name, value in values.items():
        browser.getControl(name=f"form.widgets.{name}").value = value
    browser.getControl("Add").click()


def error_text(browser):
    """The page's text with HTML quotes undone, to match messages."""
    return browser.contents.replace("&#x27;", "'").replace("&#39;", "'")


def test_site_administrator_cannot_run_as_the_zope_root_admin(
    browser_as, functional_portal
):
    browser = browser_as("siteadmin")
    before = stored()
    add(browser, functional_portal, user=SITE_OWNER_NAME)
    assert "A new cron was added" not in browser.contents
    assert (
        "Invalid user 'admin': this user has roles you do not have in this site "
        "(Manager" in error_text(browser)
    )
    assert "set Run as to yourself ('siteadmin') or leave it empty" in error_text(
        browser
    )
    assert stored() == before


def test_site_administrator_cannot_run_as_an_editor(browser_as, functional_portal):
    browser = browser_as("siteadmin")
    add(browser, functional_portal, user="editor")
    assert "Invalid user 'editor': this user has roles you do not have in this " in (
        error_text(browser)
    )
    assert "(Editor)" in error_text(browser)
    assert Crontab.load().crons == {}


@pytest.mark.parametrize("user", ["siteadmin", "member", ""])
def test_site_administrator_may_run_as_self_or_fewer_roles(
    browser_as, functional_portal, user
):
    browser = browser_as("siteadmin")
    add(browser, functional_portal, user=user)
    assert "A new cron was added" in browser.contents
    transaction.begin()
    [cron] = Crontab.load().crons.values()
    assert (cron.user, cron.saved_by) == (user or None, "siteadmin")


def test_manager_may_run_as_anyone(browser_as, functional_portal):
    browser = browser_as("manager")
    add(browser, functional_portal, user=SITE_OWNER_NAME)
    assert "A new cron was added" in browser.contents
    transaction.begin()
    [cron] = Crontab.load().crons.values()
    assert cron.user == SITE_OWNER_NAME


@pytest.mark.parametrize(
    "name,reason",
    [
        ("../acl_users/users/listUserIds", "has a '..' segment"),
        ("/plone/manage_main", "is an absolute path"),
        ("portal_url/aq_parent/acl_users", "has the segment 'aq_parent'"),
        ("@@../manage_main", "has a '@@..' segment"),
        ("++resource++x/../../manage_main", "has the segment '++resource++x'"),
    ],
)
def test_cron_path_must_stay_below_the_site(
    browser_as, functional_portal, name, reason
):
    browser = browser_as("siteadmin")
    add(browser, functional_portal, name=name)
    assert f"Invalid name '{name}': {reason}" in error_text(browser)
    assert Crontab.load().crons == {}


def edit(browser, portal, uid, **values):
    browser.open(f"{portal.absolute_url()}/@@cron-edit?uid={uid}")
    for name, value in values.items():
        browser.getControl(name=f"form.widgets.{name}").value = value
    browser.getControl("Apply").click()


def test_editing_a_managers_cron_keeps_nobody_elses_rights(
    browser_as, functional_portal, stored_cron
):
    """The cron runs as the Zope root's admin: changing only its periodicity
    is refused, and saved once Run as is reset to the editor."""
    browser = browser_as("siteadmin")
    before = stored()
    edit(browser, functional_portal, "boss", periodicity="@hourly")
    assert "was changed" not in browser.contents
    assert (
        "Invalid user 'admin': this cron runs as 'admin', who has roles you do not "
        "have in this site (Manager" in error_text(browser)
    )
    assert stored() == before

    browser.getControl(name="form.widgets.user").value = ""
    browser.getControl("Apply").click()
    assert "Cron boss/mycronjob was changed" in browser.contents
    transaction.begin()
    cron = Crontab.load().by_uid("boss")
    assert (cron.periodicity, cron.user, cron.saved_by) == (
        "@hourly",
        None,
        "siteadmin",
    )


def test_renaming_a_managers_cron_is_refused(
    browser_as, functional_portal, stored_cron
):
    browser = browser_as("siteadmin")
    before = stored()
    edit(browser, functional_portal, "boss", name="manage_main")
    assert "Invalid user 'admin'" in error_text(browser)
    assert stored() == before


def upload(setup_tool, xml):
    """Import crons.xml in a tarball, as portal_setup's Upload does
    (manage_importTarball, without its ZMI page)."""
    setup_tool.runAllImportStepsFromProfile(None, purge_old=False, archive=tarball(xml))


def tarball(xml):
    """A GenericSetup tarball holding crons.xml."""
    data = xml.encode("utf-8")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("crons.xml")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.fixture
def siteadmin(portal):
    portal.acl_users.userFolderAddUser(
        "siteadmin", "secret-1", ["Site Administrator"], []
    )
    portal.acl_users.userFolderAddUser("editor", "secret-1", ["Editor"], [])
    login(portal, "siteadmin")
    return portal


@pytest.mark.parametrize(
    "user,message",
    [
        (
            SITE_OWNER_NAME,
            "crons.xml, cron #1 (uid 'x'): Invalid user 'admin': this user has roles "
            "you do not have in this site (Manager",
        ),
        (
            "editor",
            "crons.xml, cron #1 (uid 'x'): Invalid user 'editor': this user has roles "
            "you do not have in this site (Editor)",
        ),
        ("nosuchuser", "Invalid user 'nosuchuser': no user has this login"),
    ],
)
def test_crons_xml_uploaded_by_a_site_administrator(
    siteadmin, setup_tool, user, message
):
    xml = (
        '<crons><cron uid="x" name="mycronjob" periodicity="@daily" '
        f'user="{user}"/></crons>'
    )
    with pytest.raises(CronsXMLError) as info:
        upload(setup_tool, xml)
    assert message in str(info.value)
    assert Crontab.load().crons == {}


def test_crons_xml_uploaded_by_a_site_administrator_as_self(siteadmin, setup_tool):
    xml = (
        '<crons><cron uid="x" name="mycronjob" periodicity="@daily" '
        'user="siteadmin"/></crons>'
    )
    upload(setup_tool, xml)
    assert Crontab.load().by_uid("x").user == "siteadmin"


class TestRunTime:
    """find_runner checks a path again when the job runs: what it reaches must
    be inside the site, even through acquisition."""

    @pytest.fixture
    def outside(self, portal):
        # A folder beside the site, in the Zope root: reachable by acquisition.
        manage_addFolder(portal.aq_parent, "outside")
        return portal

    def test_acquired_object_outside_the_site_is_refused(self, outside):
        cron = Cron(name="outside/getId", periodicity="@daily")
        with (
            api.env.adopt_roles(["Manager"]),
            pytest.raises(Unauthorized, match="leads outside the site"),
        ):
            find_runner(outside, cron)

    def test_job_through_it_fails_and_says_why(self, outside, recording):
        set_now(datetime(2026, 1, 1))
        crontab = Crontab.load()
        cron = Cron(name="outside/getId", periodicity="* * * * *", crontab=crontab)
        crontab.save()
        set_now(datetime(2026, 1, 1, 0, 1))
        [(status, messages, uid, _)] = run_due_jobs(outside)
        assert (uid, status) == (cron.uid, Status.FAILURE)
        assert "Cron name 'outside/getId' leads outside the site" in messages[0]

    def test_path_inside_the_site_runs(self, portal):
        cron = Cron(name="getId", periodicity="@daily")
        assert find_runner(portal, cron)() == portal.getId()

    def test_name_that_escaped_the_save_check_is_refused(self, portal):
        cron = Cron(name="getId", periodicity="@daily")
        cron._name = "../acl_users/users/listUserIds"  # stored by other means
        with pytest.raises(Unauthorized, match="has a '..' segment"):
            find_runner(portal, cron)


def test_activating_a_managers_cron_from_the_dashboard_is_refused(
    browser_as, functional_portal, stored_cron
):
    """Turning a cron on makes it run as its user: a Site Administrator may
    turn off the Zope root admin's cron, but not on again."""
    from collective.cron.crontab import Crontab
    from tests.security.helpers import post
    from tests.security.helpers import token

    import transaction

    browser = browser_as("siteadmin")
    url = f"{functional_portal.absolute_url()}/@@cron-settings"
    data = {"_authenticator": token(browser, functional_portal)}
    post(browser, url, {**data, "row_action": "deactivate:boss"})
    transaction.begin()
    assert Crontab.load().by_uid("boss").activated is False
    post(browser, url, {**data, "row_action": "activate:boss"})
    assert "Invalid user 'admin'" in browser.contents
    transaction.begin()
    assert Crontab.load().by_uid("boss").activated is False
