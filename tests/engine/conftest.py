"""Engine test fixtures: job listings, runners, in-process dispatchers."""

from collective.cron import config
from collective.cron.demo import DEMO_NAME
from collective.cron.demo import DemoRunner
from collective.cron.dispatcher import Dispatcher
from collective.cron.interfaces import IQueue
from zope.component import getGlobalSiteManager

import pytest


@pytest.fixture
def get_jobs(portal):
    return lambda: list(IQueue(portal).jobs)


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
