"""Real users with real roles, and browsers logged in as them.

Users are created with plone.api in the functional layer's site and committed,
so that zope.testbrowser (and the WSGI server) see them; each test's changes
are discarded with the layer's DemoStorage.
"""

from collective.cron.crontab import Cron
from collective.cron.crontab import Crontab
from collective.cron.status import Status
from plone.app.testing import SITE_OWNER_NAME
from tests.security.helpers import PASSWORD
from tests.security.helpers import USERS
from tests.security.helpers import make_browser
from zope.component.hooks import setSite

import pytest
import transaction


@pytest.fixture
def users(functional_portal):
    setSite(functional_portal)
    for login, roles in USERS.items():
        # As plone.app.testing creates its test user: no permission check.
        functional_portal.acl_users.userFolderAddUser(login, PASSWORD, roles, [])
    transaction.commit()
    return USERS


@pytest.fixture
def stored_cron(functional_portal, users):
    """A cron saved by the Zope root's Manager, running as that Manager."""
    setSite(functional_portal)
    crontab = Crontab.load()
    cron = Cron(
        uid="boss",
        name="mycronjob",
        periodicity="@daily",
        user=SITE_OWNER_NAME,
        timezone="Europe/Paris",
        crontab=crontab,
    )
    cron.log(status=Status.OK, messages=["done"])
    crontab.save()
    transaction.commit()
    return cron


@pytest.fixture
def browser_as(functional_app, functional_portal, users):
    """browser_as("siteadmin"): zope.testbrowser logged in as that user."""
    transaction.commit()

    def factory(login, handle_errors=False):
        return make_browser(functional_app, login, handle_errors)

    return factory
