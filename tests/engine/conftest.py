"""Engine test fixtures: job listings (dispatchers and runners: tests/conftest.py)."""

from collective.cron.interfaces import IQueue

import pytest


@pytest.fixture
def get_jobs(portal):
    return lambda: list(IQueue(portal).jobs)
