"""Installing the add-on gives a site the layer, the records and the permission."""

from collective.cron.interfaces import ICollectiveCronLayer
from plone import api
from plone.registry.interfaces import IRegistry
from zope.component import getUtility

import pytest


RECORD_CRONTAB = "collective.cron.interfaces.IRegistryCrontab.crontab"
RECORD_ACTIVATED = "collective.cron.interfaces.IRegistryCrontab.activated"
PERMISSION = "collective.cron: Manage crons"


class TestSetupInstall:
    def test_addon_installed(self, installer, package_name):
        assert installer.is_product_installed(package_name) is True

    def test_browserlayer(self, browser_layers):
        assert ICollectiveCronLayer in browser_layers

    def test_latest_version(self, profile_last_version, package_name):
        assert profile_last_version(f"{package_name}:default") == "1006"

    def test_registry_records(self, portal):
        assert api.portal.get_registry_record(RECORD_CRONTAB) == []
        assert api.portal.get_registry_record(RECORD_ACTIVATED) is True

    @pytest.mark.parametrize(
        "role,allowed",
        [
            ("Manager", True),
            ("Site Administrator", True),
            ("Editor", False),
            ("Member", False),
            ("Anonymous", False),
        ],
    )
    def test_permission_roles(self, portal, role, allowed):
        roles = [
            r["name"] for r in portal.rolesOfPermission(PERMISSION) if r["selected"]
        ]
        assert (role in roles) is allowed

    def test_uninstall_profile_hidden(self, portal):
        from plone.base.interfaces import INonInstallable
        from zope.component import getAllUtilitiesRegisteredFor

        hidden = []
        for utility in getAllUtilitiesRegisteredFor(INonInstallable):
            hidden.extend(utility.getNonInstallableProfiles())
        assert "collective.cron:uninstall" in hidden


REST = "plone.restapi: Use REST API"


def test_site_administrator_may_use_the_rest_api(portal):
    """The @crons services need plone.restapi's permission: its profile is a
    dependency, so the documented roles work."""
    roles = portal.rolesOfPermission(REST)
    assert [r["name"] for r in roles if r["selected"]] == ["Anonymous"]


def test_upgrade_to_1001_installs_plone_restapi(portal, setup_tool):
    portal.manage_permission(REST, roles=["Manager"], acquire=False)
    setup_tool.setLastVersionForProfile("collective.cron:default", "1000")
    setup_tool.upgradeProfile("collective.cron:default")
    assert setup_tool.getLastVersionForProfile("collective.cron:default") == ("1006",)
    assert "Anonymous" in [
        r["name"] for r in portal.rolesOfPermission(REST) if r["selected"]
    ]


def test_upgrade_to_1002_adds_the_site_settings(portal, setup_tool):
    registry = getUtility(IRegistry)
    for name in ("collective.cron.alert_recipients", "collective.cron.health_public"):
        del registry.records[name]
    setup_tool.setLastVersionForProfile("collective.cron:default", "1001")
    setup_tool.upgradeProfile("collective.cron:default")
    assert registry["collective.cron.alert_recipients"] == []
    assert registry["collective.cron.health_public"] is False


def test_upgrade_to_1003_adds_audit_and_metrics_settings(portal, setup_tool):
    registry = getUtility(IRegistry)
    names = (
        "collective.cron.audit_size",
        "collective.cron.audit_secret_keys",
        "collective.cron.metrics_token",
    )
    for name in names:
        del registry.records[name]
    setup_tool.setLastVersionForProfile("collective.cron:default", "1002")
    setup_tool.upgradeProfile("collective.cron:default")
    assert setup_tool.getLastVersionForProfile("collective.cron:default") == ("1006",)
    assert registry["collective.cron.audit_size"] == 1000
    assert "password" in registry["collective.cron.audit_secret_keys"]
    assert registry["collective.cron.metrics_token"] == ""
