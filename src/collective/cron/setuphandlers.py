"""Install and uninstall hooks of the GenericSetup profiles."""

from plone.base.interfaces import INonInstallable
from zope.interface import implementer


@implementer(INonInstallable)
class HiddenProfiles:
    """Keep the uninstall profile out of the add-ons control panel."""

    def getNonInstallableProfiles(self):
        return ["collective.cron:uninstall"]

    def getNonInstallableProducts(self):
        return ["collective.cron.upgrades"]


def post_install(context):
    """Run after the default profile: nothing beyond the XML steps yet."""


def uninstall(context):
    """Run after the uninstall profile: nothing beyond the XML steps yet."""
