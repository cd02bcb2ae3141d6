"""Chromium through Playwright's sync API, against pytest-django's live_server.

Playwright cannot download its own browser here, so it drives Debian's /usr/bin/chromium
(`make test` installs it). Screenshots go to $SCREENSHOTS_DIR when set (`make screenshots` points it
at docs/screenshots), otherwise to the test's temporary folder.

Every page a test visits is audited by axe-core against WCAG 2.2 AA (tests/browser/axe.py); a violation
anywhere fails the test, as does anything the Content-Security-Policy blocked.
"""

import os
from pathlib import Path

import pytest

from tests import tiers
from tests.browser.axe import AccessibilityWatch

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 900}


@pytest.fixture(scope="session")
def chromium(django_db_setup):
    """One browser for the session, started after the test database so it stops before it is dropped."""
    tiers.requires("browser", "Chromium")
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: run `make test`, or apt-get install chromium")
    from playwright.sync_api import sync_playwright

    # The sync API keeps an asyncio loop running on the main thread, so Django's guard against ORM calls
    # from async code would refuse the tests' own queries. Nothing here is async, so lift it while the
    # browser runs, and only then.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def watched_page(chromium, live_server):
    """A page in a new browser context, and the axe audits of every page it visits."""
    context = chromium.new_context(base_url=live_server.url, viewport=VIEWPORT, locale="en-GB")
    context.set_default_timeout(15_000)
    page = context.new_page()
    blocked = []  # the browser reports what the Content-Security-Policy stopped on the console

    def note_blocked(message):
        if "Content Security Policy" in message.text:
            blocked.append(message.text)

    page.on("console", note_blocked)
    accessibility = AccessibilityWatch(page)
    yield page, accessibility
    try:
        violations = accessibility.finish()
    finally:
        context.close()
    assert blocked == [], f"the Content-Security-Policy blocked what a page needs: {blocked}"
    assert violations == [], "axe found WCAG 2.2 AA violations:\n" + "\n".join(map(str, violations))


@pytest.fixture
def page(watched_page):
    return watched_page[0]


@pytest.fixture
def accessibility(watched_page):
    """accessibility.audit() runs axe on the page as it is now, e.g. after a fragment was swapped in."""
    return watched_page[1]


def save_screenshot(page, name: str, tmp_path: Path) -> Path:
    """The page as it is now, as name.png in $SCREENSHOTS_DIR (or the test's temporary folder)."""
    folder = Path(os.environ.get("SCREENSHOTS_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=path, full_page=True, animations="disabled")
    return path


@pytest.fixture
def screenshot(page, accessibility, tmp_path):
    """screenshot("name") saves the current page as name.png, once axe has audited it."""

    def take(name: str) -> Path:
        accessibility.audit()
        return save_screenshot(page, name, tmp_path)

    return take
