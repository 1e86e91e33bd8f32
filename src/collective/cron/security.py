"""Who may make a cron run as whom.

A job runs with the rights of its user: `cron.user`, else who last saved the
cron. Whoever saves a cron may therefore only choose a user whose roles in the
site they hold themselves (themselves always; Managers anyone), or a Site
Administrator could run code with the rights of the Zope root's Manager.

Every channel that knows who saves calls check_run_as: the dashboard's forms
and crons.xml imports run by a logged-in user. Code calling the Python API
without a user (scripts, tests) is trusted, like the rest of Plone's API.
"""

from AccessControl import getSecurityManager
from AccessControl.users import UnrestrictedUser
from collective.cron import _
from collective.cron.errors import InvalidCron
from plone import api


# Roles every user has: they neither grant nor withhold anything here.
_IMPLICIT = frozenset({"Anonymous", "Authenticated"})


class RunAsRefused(InvalidCron):
    """The user a cron would run as has rights its saver lacks (or is unknown)."""

    def __init__(self, value, reason, uid=None):
        super().__init__("user", value, reason, uid=uid)

    def for_cron(self, uid):
        return RunAsRefused(self.value, self.reason, uid=uid)


def roles_in(site, user):
    """The roles `user` has on the site (global, group and local roles)."""
    return set(user.getRolesInContext(site)) - _IMPLICIT


def is_trusted(user):
    """True for code running without a real user (scripts) or as the system."""
    if user is None or isinstance(user, UnrestrictedUser):
        return True
    return user.getUserName() in (None, "Anonymous User")


def check_run_as(site, cron, saver=None, previous=None):
    """Refuse to save `cron` when its user outranks `saver` (default: current).

    `previous` is the cron as stored before this save (None for a new one); it
    only makes the message clearer. The run-as user must exist, and have no
    role in the site that the saver lacks, unless the saver is a Manager or
    the run-as user is the saver. Raises RunAsRefused naming the user and the
    missing roles; returns None when the save may go on.
    """
    login = cron.user
    if login is None:
        return  # the job runs as whoever saves the cron
    user = _find_user(login)
    if user is None:
        raise RunAsRefused(login, _("no user has this login"))
    saver = getSecurityManager().getUser() if saver is None else saver
    if is_trusted(saver):
        return
    saver_login = saver.getUserName()
    if login == saver_login:
        return
    saver_roles = roles_in(site, saver)
    if "Manager" in saver_roles:
        return
    missing = sorted(roles_in(site, user) - saver_roles)
    if not missing:
        return
    mapping = {
        "login": repr(login),
        "roles": ", ".join(missing),
        "self": repr(saver_login),
    }
    if previous is not None and previous.user == login:
        reason = _(
            "this cron runs as ${login}, who has roles you do not have in this "
            "site (${roles}); set Run as to yourself (${self}) or leave it empty "
            "to save",
            mapping=mapping,
        )
    else:
        reason = _(
            "this user has roles you do not have in this site (${roles}); set Run "
            "as to yourself (${self}) or leave it empty to save",
            mapping=mapping,
        )
    raise RunAsRefused(login, reason)


def _find_user(login):
    """The user with this login, in the site or above it (the Zope root)."""
    if not isinstance(login, str) or not login:
        return None
    return api.user.get(username=login)
