"""Engine test fixtures: job listings (dispatchers and runners: tests/conftest.py)."""

from collective.cron.interfaces import IQueue
from plone.app.testing import TEST_USER_ID
from plone.app.testing import setRoles
from zope.component.hooks import setSite

import pytest


@pytest.fixture
def get_jobs(portal):
    return lambda: list(IQueue(portal).jobs)


@pytest.fixture
def site(functional_portal):
    """The functional layer's site, current, its test user a Manager (who
    saves crons and runs them). Modules extend it (`def site(site): ...`)."""
    setSite(functional_portal)
    setRoles(functional_portal, TEST_USER_ID, ["Manager"])
    return functional_portal
