"""Debian's Chromium driven by Playwright, for the browser tests.

Playwright never downloads a browser here: it launches /usr/bin/chromium,
headless, without sandbox. Screenshots go to test-artifacts/ and are copied
to docs/_static/screenshots/, where the docs show them.
"""

from contextlib import contextmanager
from pathlib import Path
from plone.app.testing import SITE_OWNER_NAME
from plone.app.testing import SITE_OWNER_PASSWORD

import base64
import os
import pytest
import shutil


CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
DOCS_SCREENSHOTS = ROOT / "docs" / "_static" / "screenshots"
TOKEN = base64.b64encode(f"{SITE_OWNER_NAME}:{SITE_OWNER_PASSWORD}".encode()).decode()
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}


def chromium_or_skip():
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reason = "playwright is not installed"
    else:
        reason = None if shutil.which(CHROMIUM) else f"{CHROMIUM} is missing"
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"the browser test must run in CI: {reason}")
        pytest.skip(reason)


def screenshot(page, name):
    """The whole page as test-artifacts/NAME, copied for the docs."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)
    DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ARTIFACTS / name, DOCS_SCREENSHOTS / name)


@contextmanager
def chromium():
    """A headless Chromium (Playwright's Browser); skips when there is none."""
    chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
            ],
        )
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def owner_page(browser, viewport=DESKTOP):
    """A page logged in as the site owner, `viewport` wide."""
    context = browser.new_context(
        # Plone answers a login form, not a 401 challenge: send the
        # credentials with every request.
        extra_http_headers={"Authorization": f"Basic {TOKEN}"},
        viewport=viewport,
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        yield page
    finally:
        context.close()
