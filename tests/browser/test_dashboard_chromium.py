"""The dashboard in a real browser: Debian's Chromium driven by Playwright.

Against the functional layer's live WSGI server, with a dispatcher (worker
threads) running on the same database: add a cron through the form (its
periodicity explained live by cron.js), run it, see its log, delete it after
the JavaScript confirmation. Screenshots go to test-artifacts/ and to
docs/_static/screenshots/, where the docs show them.
"""

from tests.support.chromium import chromium
from tests.support.chromium import owner_page
from tests.support.chromium import screenshot

import pytest


pytestmark = pytest.mark.slow


@pytest.fixture
def worker(start_dispatcher, demo_runner):
    return start_dispatcher(**{"poll-interval": "0.2", "worker-name": "browser-test"})


@pytest.fixture
def page(functional_portal):
    with chromium() as browser, owner_page(browser) as page:
        yield page


def test_add_run_and_delete_in_chromium(page, functional_portal, worker):
    from playwright.sync_api import expect

    site = functional_portal.absolute_url()
    page.goto(f"{site}/@@cron-settings")
    expect(page.locator("h1")).to_have_text("Cron Dashboard")
    page.get_by_role("link", name="Add a task").click()

    # The name field offers the registered runners.
    name = page.locator("#form-widgets-name")
    expect(name).to_have_attribute("list", "cron-runner-names")
    assert "collective.cron.demo" in page.locator(
        "#cron-runner-names option"
    ).evaluate_all("options => options.map(o => o.value)")
    name.fill("collective.cron.demo")

    # The periodicity is explained while it is typed, errors included.
    periodicity = page.locator("#form-widgets-periodicity")
    explanation = page.locator("#cron-explanation")
    periodicity.fill("61 * * * *")
    expect(explanation).to_contain_text("Invalid periodicity '61 * * * *': bad minute")
    periodicity.fill("*/5 * * * *")
    expect(explanation).to_contain_text("Every fifth minute of every hour")
    expect(page.locator(".cron-explanation-next li")).to_have_count(5)
    page.locator("#form-widgets-senviron").fill('{"greeting": "Bonjour"}')
    screenshot(page, "cron-add-form.png")
    page.locator("#form-buttons-add").click()

    expect(page.locator("#global_statusmessage")).to_contain_text(
        "A new cron was added"
    )
    expect(page.locator(".cron-no-worker")).to_have_count(0)  # the worker is alive
    row = page.locator("table.cron-table tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Every fifth minute of every hour")
    expect(row).to_contain_text("never")

    # Run it now: the worker runs it and the log shows.
    row.get_by_role("link", name="collective.cron.demo").click()
    page.get_by_role("button", name="Run now", exact=True).click()
    expect(page.locator("#global_statusmessage")).to_contain_text("was queued")
    for _ in range(40):  # bounded: 40 reloads, 20 s at most
        if page.locator(".cron-logs tbody tr").count():
            break
        page.wait_for_timeout(500)
        page.reload()
    expect(page.locator(".cron-logs tbody tr")).to_have_count(1)
    expect(page.locator(".cron-logs")).to_contain_text("OK")
    expect(page.locator(".cron-logs-count")).to_contain_text("1/1 last logs")
    screenshot(page, "cron-page.png")

    page.get_by_role("link", name="Cron Dashboard").first.click()
    expect(page.locator("table.cron-table tbody tr")).to_contain_text("OK")
    screenshot(page, "cron-dashboard.png")

    # Delete from the dashboard: refused confirmation keeps it, accepted deletes.
    page.locator('input[name="uids_to_delete"]').check()
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Delete selected", exact=True).click()
    expect(page.locator("table.cron-table tbody tr")).to_have_count(1)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete selected", exact=True).click()
    expect(page.locator("#global_statusmessage")).to_contain_text("was deleted")
    expect(page.locator("table.cron-table")).to_have_count(0)
