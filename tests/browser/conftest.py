"""What the browser tests share beyond tests/conftest.py: Debian's Chromium, driven by Playwright, once per test
module, and a fresh browser context for each test that asks for one.

Once per module, not per session: Playwright's sync API keeps an event loop running in the worker while it is
open, and every `asyncio.run` of another module's test on the same xdist worker would then fail with "cannot be
called from a running event loop"."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright
from sqlalchemy.engine import make_url

from tests.support.webchat import Widget

CHROMIUM = Path("/usr/bin/chromium")
# As root Chromium needs --no-sandbox; the rest keep it off the network it has no business on
# (this machine refuses those connections) and make runs repeatable.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make browser` installs Debian's Chromium")
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
    yield browser
    browser.close()


@pytest.fixture
def widget(browser: Browser, request: pytest.FixtureRequest, database_url: str) -> Iterator[Widget]:
    """The chat widget in a new browser context (a debtor of their own), named after the test and backend."""
    backend = make_url(database_url).get_backend_name()
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    widget = Widget(context.new_page(), f"{request.node.originalname}-{backend}")
    yield widget
    widget.page.unroute_all(behavior="ignoreErrors")  # a long poll still in a route must not fail the next test
    context.close()
