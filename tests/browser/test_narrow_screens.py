"""At 375 px wide (a phone) the pages scroll down, never sideways: wide
tables scroll inside their own box. Screenshots at that width for the docs."""

from collective.cron.crontab import Cron
from collective.cron.crontab import Crontab
from collective.cron.status import Status
from tests.support.chromium import PHONE
from tests.support.chromium import chromium
from tests.support.chromium import owner_page
from tests.support.chromium import screenshot
from zope.component.hooks import setSite

import pytest
import transaction


pytestmark = pytest.mark.slow

PAGES = {
    "cron-dashboard-375.png": "@@cron-settings",
    "cron-page-375.png": "@@cron?uid=report",
    "cron-add-form-375.png": "@@cron-add",
    "cron-changes-375.png": "@@cron-changes",
    "cron-runs-375.png": "@@cron-runs",
}


@pytest.fixture
def cron(functional_portal):
    setSite(functional_portal)
    crontab = Crontab.load()
    cron = Cron(
        uid="report",
        name="collective.cron.demo",
        title="A weekly report with a rather long title",
        periodicity="0 6 * * 1-5",
        environ={"recipients": ["ops@example.org", "team-lead@example.org"]},
        crontab=crontab,
    )
    for status in (Status.OK, Status.WARN, Status.FAILURE):
        cron.log(
            status=status,
            messages=["A long message of the run " * 4],
            duration=1.5,
            traceback="Traceback (most recent call last): " + "x" * 200,
        )
    crontab.save()
    transaction.commit()
    return cron


@pytest.mark.parametrize("name", PAGES)
def test_no_page_scroll_sideways(functional_portal, cron, name):
    with chromium() as browser, owner_page(browser, viewport=PHONE) as page:
        page.goto(f"{functional_portal.absolute_url()}/{PAGES[name]}")
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{PAGES[name]} is {width} px wide"
        screenshot(page, name)
