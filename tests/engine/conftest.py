"""Helpers for engine tests: runners registered for one test, job listings."""

from collective.cron.crontab import Runner
from collective.cron.interfaces import IQueue
from zope.component import getGlobalSiteManager

import pytest


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
def get_jobs(portal):
    return lambda: list(IQueue(portal).jobs)
