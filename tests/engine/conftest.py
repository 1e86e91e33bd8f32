"""Helpers for engine tests: job listings."""

from collective.cron.interfaces import IQueue

import pytest


@pytest.fixture
def get_jobs(portal):
    return lambda: list(IQueue(portal).jobs)
