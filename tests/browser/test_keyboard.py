"""The dashboard with the keyboard alone: Tab to move, Enter and Space to act.

Add a cron, run it (a worker runs it), pause it and delete it, in Chromium,
never clicking; after each action the focus is on the page's message, so the
next Tab goes on from the top of the page's own content.
"""

from tests.support.chromium import chromium
from tests.support.chromium import owner_page

import pytest


pytestmark = pytest.mark.slow

MOST_TABS = 150  # more stops than any of our pages has


@pytest.fixture
def worker(start_dispatcher, demo_runner):
    return start_dispatcher(**{"poll-interval": "0.2", "worker-name": "keyboard"})


def tab_to(page, selector):
    """Press Tab until the focused element matches `selector`."""
    for _ in range(MOST_TABS):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reaches {selector}")


def focused_message(page):
    """The text of the focused status message ('' when focus is elsewhere)."""
    return page.evaluate(
        "() => document.activeElement.matches('.portalMessage')"
        " ? document.activeElement.textContent : ''"
    )


def test_add_run_pause_delete_with_the_keyboard(page, functional_portal, worker):
    from playwright.sync_api import expect

    page.goto(f"{functional_portal.absolute_url()}/@@cron-settings")
    tab_to(page, "#add-cron")
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Add a task")

    tab_to(page, "#form-widgets-name")
    page.keyboard.type("collective.cron.demo")
    tab_to(page, "#form-widgets-periodicity")
    page.keyboard.type("*/5 * * * *")
    expect(page.locator("#cron-explanation")).to_contain_text("Every fifth minute")
    tab_to(page, "#form-buttons-add")
    page.keyboard.press("Enter")
    expect(page.locator("table.cron-table tbody tr")).to_have_count(1)
    assert "A new cron was added" in focused_message(page)

    # Run now (Enter): the worker runs it.
    tab_to(page, 'button[value^="run:"]')
    page.keyboard.press("Enter")
    expect(page.locator("#global_statusmessage")).to_contain_text("was queued")
    assert "was queued" in focused_message(page)
    for _ in range(40):  # bounded: 40 reloads, 20 s at most
        if "never" not in page.locator("table.cron-table tbody tr").inner_text():
            break
        page.wait_for_timeout(500)
        page.reload()
    expect(page.locator("table.cron-table tbody tr")).to_contain_text("OK")

    # Pause (Space on the button).
    tab_to(page, 'button[value^="pause:"]')
    page.keyboard.press("Space")
    expect(page.locator(".cron-paused")).to_have_count(1)
    assert "was paused" in focused_message(page)

    # Tick the row (Space), delete the selection (Enter), confirm the dialog.
    tab_to(page, 'input[name="uids_to_delete"]')
    page.keyboard.press("Space")
    expect(page.locator('input[name="uids_to_delete"]')).to_be_checked()
    tab_to(page, 'button[name="delete_crons"]')
    page.once("dialog", lambda dialog: dialog.accept())
    page.keyboard.press("Enter")
    expect(page.locator("table.cron-table")).to_have_count(0)
    assert "was deleted" in focused_message(page)


@pytest.fixture
def page(functional_portal):
    with chromium() as browser, owner_page(browser) as page:
        yield page
