"""Test layers and helpers for collective.cron and the add-ons that use it.

The layer names are part of the public API: other test suites import them.
"""

from collective.cron import clock
from collective.cron.crontab import Cron
from collective.cron.crontab import Crontab
from collective.cron.interfaces import ICronManager
from collective.cron.interfaces import ICrontabManager
from collective.cron.interfaces import IQueue
from plone.app.contenttypes.testing import PLONE_APP_CONTENTTYPES_FIXTURE
from plone.app.testing import PloneSandboxLayer
from plone.app.testing import applyProfile
from plone.testing.zope import WSGI_SERVER_FIXTURE
from zope.component import getMultiAdapter

import collective.cron
import plone.app.testing
import zope.deferredimport


# What 2.x test modules imported from here: plone.app.testing's names, and the
# manager user of plone.app.async's layers (gone: the site owner logs in).
zope.deferredimport.deprecatedFrom(
    "Import it from plone.app.testing.",
    "plone.app.testing",
    "SITE_OWNER_NAME",
    "SITE_OWNER_PASSWORD",
    "TEST_USER_ID",
    "TEST_USER_NAME",
    "TEST_USER_PASSWORD",
    "TEST_USER_ROLES",
    "setRoles",
)
zope.deferredimport.deprecated(
    "2.x's plone.app.async manager user is gone: use "
    "plone.app.testing.SITE_OWNER_NAME and SITE_OWNER_PASSWORD.",
    PLONE_MANAGER_NAME="plone.app.testing:SITE_OWNER_NAME",
    PLONE_MANAGER_PASSWORD="plone.app.testing:SITE_OWNER_PASSWORD",
)
zope.deferredimport.deprecated(
    "Use plone.testing.zope.Browser(layer['app']) (2.x's Browser.new is gone: "
    "add an Authorization header and open the URL).",
    Browser="plone.testing.zope:Browser",
)


def set_now(value):
    """Freeze collective.cron's clock at `value` (naive = UTC); None releases it."""
    clock.freeze(value)


def run_due_jobs(portal, commit=False):
    """Run every job of `portal` due at the clock's now, in this thread.

    Jobs run in order of due time on the thread's default transaction manager,
    the one a worker thread runs them on, so Plone code in a runner (catalog,
    plone.api, mail) joins the same transaction as in production. Returns one
    tuple per run: (status, messages, cron_uid, site_path_tuple), the 2.x job
    result.

    commit=False (integration tests): nothing is committed. Each run is
    wrapped in a savepoint instead of a transaction of its own: a failed
    runner's database changes are rolled back, but after-commit hooks do not
    fire and mail is not sent until the test commits, and mail queued by a
    failed runner is not taken back (zope.sendmail ignores savepoints).
    commit=True (functional tests): each claim and each run is committed, as
    a worker thread does.
    """
    from collective.cron.job import run_due_jobs as run

    return run(portal, commit=commit)


class CollectiveCronLayer(PloneSandboxLayer):
    defaultBases = (PLONE_APP_CONTENTTYPES_FIXTURE,)

    def setUpZope(self, app, configurationContext):
        import plone.restapi

        self.loadZCML(package=plone.restapi)
        self.loadZCML(package=collective.cron)
        self.loadZCML(package=collective.cron, name="testing.zcml")

    def setUpPloneSite(self, portal):
        applyProfile(portal, "collective.cron:default")

    def testTearDown(self):
        # A test that froze the clock must not leak its time into the next one.
        set_now(None)


COLLECTIVE_CRON_FIXTURE = CollectiveCronLayer()

# Per-test resources 2.x's layers offered (layer["crontab"] and so on).
LEGACY_RESOURCES = ("cron", "crontab", "cron_manager", "crontab_manager", "queue")


class CronResources:
    """Puts 2.x's per-test resources on the layer, for test suites written
    for 2.x: `cron` (a cron "testcron", every minute), `crontab` (a crontab
    holding it, not saved: `layer["crontab"].save()` makes it the site's),
    `cron_manager` and `crontab_manager` (their ICronManager and
    ICrontabManager) and `queue` (the site's IQueue)."""

    defaultBases = (COLLECTIVE_CRON_FIXTURE,)

    def testSetUp(self):
        super().testSetUp()
        portal = self["portal"]
        cron = Cron(name="testcron", activated=True, periodicity="*/1 * * * *")
        crontab = Crontab.load([cron])
        self["cron"] = cron
        self["crontab"] = crontab
        self["cron_manager"] = getMultiAdapter((portal, cron), ICronManager)
        self["crontab_manager"] = getMultiAdapter((portal, crontab), ICrontabManager)
        self["queue"] = IQueue(portal)

    def testTearDown(self):
        for key in LEGACY_RESOURCES:
            del self[key]
        super().testTearDown()


class IntegrationTesting(CronResources, plone.app.testing.IntegrationTesting):
    """plone.app.testing's integration layer with the resources above."""


class FunctionalTesting(CronResources, plone.app.testing.FunctionalTesting):
    """plone.app.testing's functional layer with the resources above."""


COLLECTIVE_CRON_INTEGRATION_TESTING = IntegrationTesting(
    bases=(COLLECTIVE_CRON_FIXTURE,),
    name="CollectiveCronLayer:IntegrationTesting",
)

COLLECTIVE_CRON_FUNCTIONAL_TESTING = FunctionalTesting(
    bases=(COLLECTIVE_CRON_FIXTURE, WSGI_SERVER_FIXTURE),
    name="CollectiveCronLayer:FunctionalTesting",
)
