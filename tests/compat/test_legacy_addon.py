"""The test module of the fake 2.x add-on (legacy_addon), written as 2.x
add-ons wrote theirs: unittest classes on collective.cron.testing layers,
layer["crontab"] / ["queue"] / ["cron_manager"], crontab.runJob, su_plone and
Cron.last_status. It must pass unchanged on collective.cron 3."""

from collective.cron import crontab
from collective.cron import interfaces as i
from collective.cron.testing import TEST_USER_ID
from collective.cron.testing import set_now
from collective.cron.testing import setRoles
from collective.cron.utils import NoSuchUserError
from tests.compat.legacy_addon.runners import LegacyReport
from tests.compat.legacy_addon.testing import LEGACY_ADDON_INTEGRATION_TESTING
from zope.component import getMultiAdapter

import datetime
import unittest


class TestLegacyAddon(unittest.TestCase):
    layer = LEGACY_ADDON_INTEGRATION_TESTING

    def setUp(self):
        self.portal = self.layer["portal"]
        setRoles(self.portal, TEST_USER_ID, ["Manager"])
        set_now(datetime.datetime(2008, 1, 1, 1, 3))
        self.layer["crontab"].save()
        LegacyReport.runs = []

    def test_layer_crontab_is_the_sites_once_saved(self):
        crt = crontab.Crontab.load()
        self.assertEqual([c.name for c in crt.crons.values()], ["testcron"])
        self.assertEqual(crt.by_name("testcron")[0].uid, self.layer["cron"].uid)
        jobs = list(self.layer["queue"])
        self.assertEqual([job.cron_uid for job in jobs], [self.layer["cron"].uid])

    def test_managers_on_the_layer(self):
        manager = self.layer["cron_manager"]
        self.assertTrue(manager.register_job(force=True))
        self.assertTrue(self.layer["queue"].is_job_present(self.layer["cron"].uid))
        crt = self.layer["crontab"]
        crt.activated = False
        crt.save()
        self.assertEqual(list(self.layer["queue"]), [])
        crt.activated = True
        self.layer["crontab_manager"].synchronize()
        self.assertTrue(self.layer["queue"].is_job_present(self.layer["cron"].uid))

    def test_runjob_runs_as_the_su_plone_user(self):
        crt = crontab.Crontab.load()
        cron = crontab.Cron(
            name="legacy-report",
            activated=True,
            periodicity="*/1 * * * *",
            environ={"as": "legacy-editor"},
            crontab=crt,
        )
        crt.save()
        result = crontab.runJob(self.portal, cron)
        self.assertEqual(result, (1, [], cron.uid, ("", "plone")))
        self.assertEqual(
            LegacyReport.runs, [("legacy-editor", {"as": "legacy-editor"})]
        )
        ncron = crontab.Crontab.load().by_uid(cron.uid)
        self.assertEqual(ncron.last_status, 1)
        self.assertEqual(ncron.slast, "2008-01-01 01:03:00")
        self.assertEqual(ncron.last_messages, [])

    def test_su_plone_unknown_user_fails_the_run(self):
        crt = crontab.Crontab.load()
        cron = crontab.Cron(
            name="legacy-report",
            periodicity="*/1 * * * *",
            environ={"as": "nobody-here"},
            crontab=crt,
        )
        crt.save()
        status, messages, uid, path = crontab.runJob(self.portal, cron)
        self.assertEqual(status, 0)
        self.assertIn("nobody-here", messages[0])
        self.assertEqual(crontab.Crontab.load().by_uid(uid).last_status, 0)
        self.assertTrue(issubclass(NoSuchUserError, Exception))

    def test_messages_are_warnings(self):
        crt = crontab.Crontab.load()
        cron = crontab.Cron(
            name="legacy-warnings", periodicity="*/1 * * * *", crontab=crt
        )
        crt.save()
        status, messages, uid, path = crontab.runJob(self.portal, cron)
        self.assertEqual((status, messages), (2, ["2 items skipped"]))
        term = i.job_status.getTerm(crontab.Crontab.load().by_uid(uid).last_status)
        self.assertEqual(term.title, "WARN")

    def test_register_job_at_a_time(self):
        cron = crontab.Crontab.load().by_uid(self.layer["cron"].uid)
        manager = getMultiAdapter((self.portal, cron), i.ICronManager)
        when = datetime.datetime(2008, 1, 1, 5, 0, tzinfo=datetime.UTC)
        self.assertTrue(manager.register_job(begin_after=when))
        [job] = list(self.layer["queue"])
        self.assertEqual(job.begin_after, when)
        self.assertEqual(manager.register_or_remove(), (True, True))
        [job] = list(self.layer["queue"])
        self.assertEqual(job.begin_after, cron.next)
