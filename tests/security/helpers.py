"""Helpers of the security tests: users, browsers, CSRF tokens, stored state."""

from collective.cron.crontab import Crontab
from collective.cron.interfaces import IQueue
from plone import api
from plone.app.testing import SITE_OWNER_NAME
from plone.app.testing import SITE_OWNER_PASSWORD
from plone.testing.zope import Browser
from urllib.parse import urlencode

import re
import transaction


PASSWORD = "secret-password-1"

# Login -> global roles in the site.
USERS = {
    "member": ["Member"],
    "editor": ["Member", "Editor"],
    "siteadmin": ["Member", "Site Administrator"],
    "manager": ["Member", "Manager"],
}
ROLES = ["anonymous", *USERS]


def make_browser(app, login=None, handle_errors=False):
    browser = Browser(app)
    browser.handleErrors = handle_errors
    if login == "admin":
        browser.addHeader(
            "Authorization", f"Basic {SITE_OWNER_NAME}:{SITE_OWNER_PASSWORD}"
        )
    elif login not in (None, "anonymous"):
        browser.addHeader("Authorization", f"Basic {login}:{PASSWORD}")
    return browser


def token(browser, portal):
    """The CSRF token Plone gives the browser's user (read from a page)."""
    browser.open(f"{portal.absolute_url()}/@@cron-settings")
    return re.search(r'name="_authenticator" value="([^"]+)"', browser.contents)[1]


def post(browser, url, data):
    browser.post(url, urlencode(data, doseq=True))


def stored():
    """What the site stores of its crons (see other transactions' commits)."""
    transaction.begin()
    crontab = Crontab.load()
    jobs = IQueue(api.portal.get()).jobs
    return {
        "activated": crontab.activated,
        "jobs": [(job.cron_uid, job.begin_after, job.forced) for job in jobs],
        "crons": {
            uid: (cron.dump(logs=False), [log.dump() for log in cron.logs])
            for uid, cron in crontab.crons.items()
        },
    }
