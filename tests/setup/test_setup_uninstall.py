"""Uninstalling removes what install added; installing again restores it."""

from collective.cron.interfaces import ICollectiveCronLayer
from plone import api
from plone.registry.interfaces import IRegistry
from zope.component import getUtility

import pytest


RECORD_CRONTAB = "collective.cron.interfaces.IRegistryCrontab.crontab"
RECORD_ACTIVATED = "collective.cron.interfaces.IRegistryCrontab.activated"


class TestSetupUninstall:
    @pytest.fixture(autouse=True)
    def uninstalled(self, uninstalled):
        """The add-on is uninstalled for every test of this class."""

    def test_product_uninstalled(self, installer, package_name):
        assert installer.is_product_installed(package_name) is False

    def test_browserlayer_removed(self, browser_layers):
        assert ICollectiveCronLayer not in browser_layers

    def test_registry_records_removed(self, portal):
        registry = getUtility(IRegistry)
        assert RECORD_CRONTAB not in registry.records
        assert RECORD_ACTIVATED not in registry.records
        assert "collective.cron.alert_recipients" not in registry.records
        assert "collective.cron.health_public" not in registry.records

    def test_reinstall(self, installer, package_name, portal):
        installer.install_product(package_name)
        assert installer.is_product_installed(package_name) is True
        assert api.portal.get_registry_record(RECORD_ACTIVATED) is True
        assert api.portal.get_registry_record(RECORD_CRONTAB) == []
