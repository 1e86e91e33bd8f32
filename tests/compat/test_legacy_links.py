"""2.x addresses and permission names on a site with the fake 2.x add-on:
dashboard sub-URLs redirect (301) to today's pages, and the add-on's view,
protected by "ccron: View" on the 2.x layer, is granted by its rolemap."""

from collective.cron.crontab import Crontab
from plone.app.testing import SITE_OWNER_NAME
from plone.app.testing import SITE_OWNER_PASSWORD
from plone.testing.zope import Browser
from tests.compat.legacy_addon.testing import LEGACY_ADDON_FUNCTIONAL_TESTING

import transaction
import unittest


class TestLegacyLinks(unittest.TestCase):
    layer = LEGACY_ADDON_FUNCTIONAL_TESTING

    def setUp(self):
        self.portal = self.layer["portal"]
        self.layer["crontab"].save()
        self.uid = self.layer["cron"].uid
        transaction.commit()
        self.url = self.portal.absolute_url()

    def browser(self, login=None, password="secret"):
        browser = Browser(self.layer["app"])
        browser.handleErrors = False
        if login:
            browser.addHeader("Authorization", f"Basic {login}:{password}")
        return browser

    def owner(self):
        return self.browser(SITE_OWNER_NAME, SITE_OWNER_PASSWORD)

    def redirect_of(self, path):
        browser = self.owner()
        browser.followRedirects = False
        browser.open(f"{self.url}/{path}")
        return browser.headers["Status"], browser.headers["Location"]

    def test_cron_view_redirects_to_the_cron_page(self):
        self.assertEqual(
            self.redirect_of(f"@@cron-settings/cron_view?uid={self.uid}"),
            ("301 Moved Permanently", f"{self.url}/@@cron?uid={self.uid}"),
        )

    def test_add_redirects_to_the_add_form(self):
        self.assertEqual(
            self.redirect_of("@@cron-settings/add"),
            ("301 Moved Permanently", f"{self.url}/@@cron-add"),
        )

    def test_cron_edit_redirects_to_the_edit_form(self):
        self.assertEqual(
            self.redirect_of(f"cron-settings/cron_edit?uid={self.uid}"),
            ("301 Moved Permanently", f"{self.url}/@@cron-edit?uid={self.uid}"),
        )

    def test_old_bookmark_opens_the_cron_page(self):
        browser = self.owner()
        browser.open(f"{self.url}/@@cron-settings/cron_view?uid={self.uid}")
        self.assertEqual(browser.url, f"{self.url}/@@cron?uid={self.uid}")
        self.assertIn("testcron", browser.contents)

    def test_old_addresses_need_the_dashboard_permission(self):
        browser = self.browser("legacy-editor")
        browser.handleErrors = True
        browser.open(f"{self.url}/@@cron-settings/cron_view?uid={self.uid}")
        self.assertTrue(browser.url.endswith("/insufficient-privileges"))

    def test_addon_view_on_2x_permission_and_layer(self):
        cron = Crontab.load().by_uid(self.uid)
        cron.log(status=2)
        cron.save()
        transaction.commit()
        browser = self.browser("legacy-reviewer")  # "ccron: View" by rolemap
        browser.open(f"{self.url}/@@legacy-cron-status")
        self.assertEqual(browser.contents, f"testcron: WARN {cron.last.sdate}")
        editor = self.browser("legacy-editor")
        editor.handleErrors = True
        editor.open(f"{self.url}/@@legacy-cron-status")
        self.assertTrue(editor.url.endswith("/insufficient-privileges"))

    def test_2x_permissions_default_to_the_dashboard_roles(self):
        # "ccron: Edit" is left to its defaults by the add-on (acquired).
        site_admin = self.portal.acl_users.getUser("legacy-siteadmin")
        editor = self.portal.acl_users.getUser("legacy-editor")
        for permission in ("ccron: Edit", "collective.cron: Manage crons"):
            self.assertTrue(site_admin.has_permission(permission, self.portal))
            self.assertFalse(editor.has_permission(permission, self.portal))
