"""Chromium through Playwright's sync API, against pytest-django's live_server.

Playwright cannot download its own browser here, so it drives Debian's /usr/bin/chromium
(`make test` installs it). Screenshots go to $SCREENSHOTS_DIR when set (`make screenshots` points it
at docs/screenshots), otherwise to the test's temporary folder.
"""

import os
from pathlib import Path

import pytest

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
def page(chromium, live_server):
    context = chromium.new_context(base_url=live_server.url, viewport=VIEWPORT, locale="en-GB")
    context.set_default_timeout(15_000)
    page = context.new_page()
    blocked = []  # the browser reports what the Content-Security-Policy stopped on the console

    def note_blocked(message):
        if "Content Security Policy" in message.text:
            blocked.append(message.text)

    page.on("console", note_blocked)
    yield page
    context.close()
    assert blocked == [], f"the Content-Security-Policy blocked what a page needs: {blocked}"


@pytest.fixture
def screenshot(page, tmp_path):
    """screenshot("name") saves the current page as name.png."""
    folder = Path(os.environ.get("SCREENSHOTS_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> Path:
        path = folder / f"{name}.png"
        page.screenshot(path=path, full_page=True, animations="disabled")
        return path

    return take
