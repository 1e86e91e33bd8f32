"""Expose collective.cron's layers to pytest through pytest-plone."""

from collective.cron import config
from collective.cron.crontab import Runner
from collective.cron.demo import DEMO_NAME
from collective.cron.demo import DemoRunner
from collective.cron.dispatcher import Dispatcher
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


@pytest.fixture
def db(functional):
    """The functional layer's database, which dispatcher threads open."""
    return functional["zodbDB"]


@pytest.fixture
def register_runner():
    """register(factory, name): a runner adapter for the length of one test."""
    gsm = getGlobalSiteManager()
    registered = []

    def register(factory, name):
        gsm.registerAdapter(factory, name=name)
        registered.append((factory, name))

    yield register
    for factory, name in registered:
        gsm.unregisterAdapter(factory, name=name)


@pytest.fixture
def demo_runner(register_runner):
    register_runner(DemoRunner, DEMO_NAME)


@pytest.fixture
def start_dispatcher(db):
    """start(**settings): a Dispatcher with real threads on the layer's database.

    Settings are product-config keys; every dispatcher started is stopped
    after the test.
    """
    started = []

    def start(**settings):
        values = {"worker": "on", "poll-interval": "0.05", "worker-name": "test-worker"}
        values.update(settings)
        dispatcher = Dispatcher(db, config.load(values, environ={})).start()
        started.append(dispatcher)
        return dispatcher

    yield start
    for dispatcher in started:
        dispatcher.stop()
