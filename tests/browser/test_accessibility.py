"""WCAG 2.1 A/AA of every page we render, checked by axe-core in Chromium.

axe-core comes bundled in axe-playwright-python (no CDN). A violation whose
element lies inside our markup (the `.collective-cron` wrapper of each view)
fails the test; the others belong to Plone's theme (toolbar, footer...) and
are printed, not ours to fix.
"""

from collective.cron.crontab import Cron
from collective.cron.crontab import Crontab
from collective.cron.interfaces import ICronManager
from collective.cron.status import Status
from datetime import timedelta
from tests.support.chromium import chromium
from tests.support.chromium import owner_page
from tests.support.chromium import screenshot
from zope.component import getMultiAdapter
from zope.component.hooks import setSite

import collective.cron.clock as clock
import pytest
import transaction


pytestmark = pytest.mark.slow

WCAG_AA = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}
}
OURS = ".collective-cron"
# The docs' pictures of the pages (docs/dashboard.md), refreshed by this test.
SCREENSHOTS = {
    "dashboard": "cron-dashboard-history.png",
    "cron page": "cron-page-history.png",
    "edit form": "cron-edit-form.png",
    "changes": "cron-changes.png",
    "recent runs": "cron-runs.png",
}


@pytest.fixture
def crons(functional_portal):
    """Crons with every kind of status in their logs, one of them paused."""
    setSite(functional_portal)
    crontab = Crontab.load()
    now = clock.now()
    daily = Cron(
        uid="daily",
        name="collective.cron.demo",
        title="Daily report",
        description="Mails the report",
        periodicity="0 6 * * *",
        environ={"greeting": "Bonjour"},
        logs_limit=20,
        crontab=crontab,
    )
    for minutes, status in enumerate(
        [Status.OK, Status.WARN, Status.FAILURE, Status.NOTRUN, Status.OK] * 3
    ):
        daily.log(
            date=now - timedelta(minutes=10 * (15 - minutes)),
            status=status,
            messages=[f"run {minutes}"],
            duration=0.5 + minutes / 10,
            late_by=minutes * 2.0,
            traceback="Traceback: boom" if status == Status.FAILURE else None,
        )
    Cron(
        uid="hourly",
        name="collective.cron.demo",
        periodicity="@hourly",
        crontab=crontab,
    )
    crontab.save()
    getMultiAdapter((functional_portal, crontab.crons["hourly"]), ICronManager).pause(
        reason="maintenance"
    )
    transaction.commit()
    return crontab


def violations(page):
    """(ours, theme's): axe's WCAG 2.1 A/AA violations, one line per element."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options=WCAG_AA).response
    ours, theirs = [], []
    for violation in results["violations"]:
        for node in violation["nodes"]:
            target = node["target"][-1]
            inside = page.evaluate(
                "([css, ours]) => !!document.querySelector(css)?.closest(ours)",
                [target, OURS],
            )
            if inside:
                ours.append(
                    f"{page.url} {violation['id']} ({violation['impact']}):"
                    f" {target} {node['html'][:200]!r}"
                    f" {node.get('failureSummary', '')!r}"
                )
            else:
                theirs.append(f"{violation['id']} ({violation['impact']}): {target}")
    return ours, theirs


def visits(page, site):
    """Every page we render, in the states a user meets (yields a name)."""
    from playwright.sync_api import expect

    page.goto(f"{site}/@@cron-settings")
    yield "dashboard"
    page.goto(f"{site}/@@cron?uid=daily")
    page.locator(".cron-logs details summary").first.click()  # a traceback open
    yield "cron page"
    page.goto(f"{site}/@@cron?uid=hourly")
    yield "paused cron page"
    page.goto(f"{site}/@@cron-add")
    page.locator("#form-widgets-periodicity").fill("*/5 * * * *")
    expect(page.locator("#cron-explanation")).to_contain_text("Every fifth minute")
    yield "add form, explanation"
    page.locator("#form-widgets-periodicity").fill("61 * * * *")
    expect(page.locator("#cron-explanation")).to_contain_text("bad minute")
    yield "add form, explanation of an error"
    # The server's answer to bad input.
    page.locator("#form-widgets-name").fill("collective.cron.demo")
    page.locator("#form-widgets-senviron").fill("{not json")
    page.locator("#form-buttons-add").click()
    expect(page.locator(".invalid-feedback, .fieldErrorBox").first).to_be_visible()
    yield "add form, errors"
    page.goto(f"{site}/@@cron-edit?uid=daily")
    yield "edit form"
    page.goto(f"{site}/@@cron-changes")
    yield "changes"
    page.goto(f"{site}/@@cron-runs")
    yield "recent runs"
    page.goto(f"{site}/@@cron-runs?status=failure")
    yield "recent runs, failures"
    page.goto(f"{site}/@@cron?uid=daily")
    page.get_by_role("button", name="Run now", exact=True).click()
    expect(page.locator("#global_statusmessage")).to_contain_text("was queued")
    yield "cron page, confirmation"
    page.goto(f"{site}/@@cron-settings")
    page.get_by_role("button", name="Delete selected", exact=True).click()
    expect(page.locator("#global_statusmessage")).to_contain_text("Select the crons")
    yield "dashboard, warning"


def test_no_violation_of_ours(functional_portal, crons, capsys):
    site = functional_portal.absolute_url()
    ours, theirs, seen = [], {}, []
    with chromium() as browser, owner_page(browser) as page:
        page.on("dialog", lambda dialog: dialog.accept())
        for name in visits(page, site):
            assert page.locator(OURS).count() == 1, name
            found, theme = violations(page)
            ours += [f"{name}: {line}" for line in found]
            for line in theme:
                theirs.setdefault(line, []).append(name)
            # What axe cannot judge: headers say what they head, the live
            # explanation is announced.
            assert page.locator(f"{OURS} th:not([scope])").count() == 0, name
            if "add form" in name:
                explanation = page.locator("#cron-explanation")
                assert explanation.get_attribute("aria-live") == "polite"
            if name in SCREENSHOTS:
                screenshot(page, SCREENSHOTS[name])
            seen.append(name)
    with capsys.disabled():
        print(
            f"\nViolations of Plone's theme, not ours ({len(theirs)}):",
            *(f"{line} [{len(pages)} pages]" for line, pages in theirs.items()),
            sep="\n  ",
        )
    assert len(seen) == 12
    assert ours == [], "\n".join(ours)
