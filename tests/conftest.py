"""Expose collective.cron's layers to pytest through pytest-plone."""

from collective.cron.crontab import Runner
from collective.cron.testing import COLLECTIVE_CRON_FUNCTIONAL_TESTING
from collective.cron.testing import COLLECTIVE_CRON_INTEGRATION_TESTING
from collective.cron.testing import set_now
from pytest_plone import fixtures_factory
from zope.component import getGlobalSiteManager

import pytest


pytest_plugins = ["pytest_plone"]

globals().update(
    fixtures_factory(
        (
            (COLLECTIVE_CRON_FUNCTIONAL_TESTING, "functional"),
            (COLLECTIVE_CRON_INTEGRATION_TESTING, "integration"),
        )
    )
)


@pytest.fixture
def package_name() -> str:
    return "collective.cron"


@pytest.fixture(autouse=True)
def _release_clock():
    """Every test starts and ends with the real clock."""
    set_now(None)
    yield
    set_now(None)


class RecordingRunner(Runner):
    """Remembers every run: environ, user, and what the test asks it to do."""

    calls = []
    behaviour = None  # callable(runner) -> return value, may raise

    def run(self):
        type(self).calls.append(self)
        if type(self).behaviour is not None:
            return type(self).behaviour(self)
        return None


@pytest.fixture
def recording():
    """Register RecordingRunner as 'mycronjob' and 'myfoojob' for one test."""
    gsm = getGlobalSiteManager()
    RecordingRunner.calls = []
    RecordingRunner.behaviour = None
    names = ("mycronjob", "myfoojob")
    for name in names:
        gsm.registerAdapter(RecordingRunner, name=name)
    yield RecordingRunner
    for name in names:
        gsm.unregisterAdapter(RecordingRunner, name=name)
    RecordingRunner.behaviour = None
