"""collective.cron.security.check_run_as, the one run-as rule, case by case."""

from collective.cron.crontab import Cron
from collective.cron.security import RunAsRefused
from collective.cron.security import check_run_as
from plone import api
from plone.app.testing import SITE_OWNER_NAME
from plone.app.testing import logout

import pytest


@pytest.fixture
def people(portal):
    # Plone gives every user it registers the Member role.
    add = portal.acl_users.userFolderAddUser
    add("siteadmin", "secret-1", ["Member", "Site Administrator"], [])
    add("editor", "secret-1", ["Member", "Editor"], [])
    add("member", "secret-1", ["Member"], [])
    add("localboss", "secret-1", ["Member"], [])
    portal.manage_setLocalRoles("localboss", ["Manager"])  # Manager of this site
    return portal


def user(login):
    return api.user.get(username=login)


def cron(run_as):
    return Cron(name="mycronjob", periodicity="@daily", user=run_as)


@pytest.mark.parametrize(
    "saver,run_as,allowed",
    [
        ("siteadmin", None, True),  # runs as whoever saves it
        ("siteadmin", "siteadmin", True),
        ("siteadmin", "member", True),
        ("siteadmin", "editor", False),
        ("siteadmin", SITE_OWNER_NAME, False),
        ("editor", "siteadmin", False),
        ("member", "member", True),
        ("member", "editor", False),
        ("localboss", SITE_OWNER_NAME, True),  # Manager in the site: anyone
        ("localboss", "editor", True),
    ],
)
def test_roles_of_the_run_as_user_must_be_the_savers(people, saver, run_as, allowed):
    if allowed:
        check_run_as(people, cron(run_as), user(saver))
    else:
        with pytest.raises(RunAsRefused) as info:
            check_run_as(people, cron(run_as), user(saver))
        assert info.value.field == "user"
        assert f"Invalid user {run_as!r}: this user has roles you do not have" in str(
            info.value
        )


def test_unknown_user_is_refused_whoever_saves(people):
    with pytest.raises(RunAsRefused, match="Invalid user 'ghost': no user has"):
        check_run_as(people, cron("ghost"), user("localboss"))


def test_code_without_a_user_is_trusted(people):
    """Scripts calling the Python API run with no user: Plone's API trusts them."""
    logout()
    check_run_as(people, cron(SITE_OWNER_NAME))


def test_message_says_the_cron_kept_its_user(people):
    previous = cron(SITE_OWNER_NAME)
    with pytest.raises(RunAsRefused, match="this cron runs as 'admin', who has"):
        check_run_as(people, cron(SITE_OWNER_NAME), user("siteadmin"), previous)


def test_system_user_is_trusted(people):
    """Code run as Zope's system user (e.g. UnrestrictedUser in scripts)."""
    from AccessControl.SecurityManagement import newSecurityManager
    from AccessControl.users import system

    newSecurityManager(None, system)
    check_run_as(people, cron(SITE_OWNER_NAME))


def test_current_user_is_the_default_saver(people):
    from plone.app.testing import login

    login(people, "siteadmin")
    with pytest.raises(RunAsRefused, match="Invalid user 'admin'"):
        check_run_as(people, cron(SITE_OWNER_NAME))
    check_run_as(people, cron("member"))
