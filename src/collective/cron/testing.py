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

COLLECTIVE_CRON_INTEGRATION_TESTING = IntegrationTesting(
    bases=(COLLECTIVE_CRON_FIXTURE,),
    name="CollectiveCronLayer:IntegrationTesting",
)

COLLECTIVE_CRON_FUNCTIONAL_TESTING = FunctionalTesting(
    bases=(COLLECTIVE_CRON_FIXTURE, WSGI_SERVER_FIXTURE),
    name="CollectiveCronLayer:FunctionalTesting",
)
