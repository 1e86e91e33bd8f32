"""Expose collective.cron's layers to pytest through pytest-plone."""

from collective.cron.testing import COLLECTIVE_CRON_FUNCTIONAL_TESTING
from collective.cron.testing import COLLECTIVE_CRON_INTEGRATION_TESTING
from collective.cron.testing import set_now
from pytest_plone import fixtures_factory

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
