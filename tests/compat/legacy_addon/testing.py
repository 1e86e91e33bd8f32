"""The add-on's layers, built the 2.x way on collective.cron.testing."""

from collective.cron.testing import COLLECTIVE_CRON_FIXTURE
from collective.cron.testing import FunctionalTesting
from collective.cron.testing import IntegrationTesting
from plone.app.testing import PloneSandboxLayer


class LegacyAddonLayer(PloneSandboxLayer):
    defaultBases = (COLLECTIVE_CRON_FIXTURE,)

    def setUpZope(self, app, configurationContext):
        from tests.compat import legacy_addon

        self.loadZCML(package=legacy_addon)

    def setUpPloneSite(self, portal):
        self.applyProfile(portal, "tests.compat.legacy_addon:default")
        users = portal.acl_users
        users.userFolderAddUser("legacy-editor", "secret", ["Editor"], [])
        users.userFolderAddUser("legacy-reviewer", "secret", ["Reviewer"], [])
        users.userFolderAddUser(
            "legacy-siteadmin", "secret", ["Site Administrator"], []
        )


LEGACY_ADDON_FIXTURE = LegacyAddonLayer()
LEGACY_ADDON_INTEGRATION_TESTING = IntegrationTesting(
    bases=(LEGACY_ADDON_FIXTURE,), name="LegacyAddon:Integration"
)
LEGACY_ADDON_FUNCTIONAL_TESTING = FunctionalTesting(
    bases=(LEGACY_ADDON_FIXTURE,), name="LegacyAddon:Functional"
)
