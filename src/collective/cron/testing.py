"""Test layers and helpers for collective.cron and the add-ons that use it.

The layer names are part of the public API: other test suites import them.
"""

from collective.cron import clock
from plone.app.contenttypes.testing import PLONE_APP_CONTENTTYPES_FIXTURE
from plone.app.testing import FunctionalTesting
from plone.app.testing import IntegrationTesting
from plone.app.testing import PloneSandboxLayer
from plone.app.testing import applyProfile
from plone.testing.zope import WSGI_SERVER_FIXTURE
import collective.cron


def set_now(value):
    """Freeze collective.cron's clock at `value` (naive = UTC); None releases it."""
    clock.freeze(value)


class CollectiveCronLayer(PloneSandboxLayer):
    defaultBases = (PLONE_APP_CONTENTTYPES_FIXTURE,)

    def setUpZope(self, app, configurationContext):
        import plone.restapi

        self.loadZCML(package=plone.restapi)
        self.loadZCML(package=collective.cron)

    def setUpPloneSite(self, portal):
        applyProfile(portal, "collective.cron:default")

    def testTearDown(self):
        # A test that froze the clock must not leak its time into the next one.
        set_now(None)


COLLECTIVE_CRON_FIXTURE = CollectiveCronLayer()

COLLECTIVE_CRON_INTEGRATION_TESTING = IntegrationTesting(
    bases=(COLLECTIVE_CRON_FIXTURE,),
    name="CollectiveCronLayer:IntegrationTesting",
)

COLLECTIVE_CRON_FUNCTIONAL_TESTING = FunctionalTesting(
    bases=(COLLECTIVE_CRON_FIXTURE, WSGI_SERVER_FIXTURE),
    name="CollectiveCronLayer:FunctionalTesting",
)
