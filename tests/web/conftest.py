"""Fixtures of the web pages' tests: the product's stack (stack.py), and for browser tests
(browser.py) Debian's Chromium, pages in it, and the web app served to it by uvicorn."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from services.web.app import create_app
from shared.settings import Settings
from tests.web.browser import PHONE, Chromium, live_server, open_page
from tests.web.stack import stack

__all__ = ["browser", "chromium", "live_web", "page", "phone", "stack"]


@pytest.fixture(scope="session")
def chromium() -> Iterator[Chromium]:
    """Playwright's driver and one Chromium for the whole run (starting them takes ~1 s)."""
    started = Chromium()
    started.start()
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="session")
def browser(chromium: Chromium) -> Browser:
    """The run's Chromium; each test makes its own contexts in it (or uses ``page``)."""
    return chromium.browser


@pytest.fixture(autouse=True)
def _lend_the_browser(request: pytest.FixtureRequest) -> Iterator[None]:
    """Playwright's event loop marked running during each browser test only (see Chromium)."""
    if "browser" not in request.fixturenames:
        yield
        return
    chromium: Chromium = request.getfixturevalue("chromium")
    with chromium.lend():
        yield


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page in a new browser context (no cookies, desktop size) for this test."""
    with open_page(browser) as opened:
        yield opened


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    """A page in a new browser context the size of a small phone (360 x 740), touch, mobile."""
    with open_page(browser, **PHONE) as opened:
        yield opened


@pytest.fixture
def live_web(tmp_path: Path) -> Iterator[str]:
    """The web pages (``create_app``) served by uvicorn on a free port; yields the base URL,
    e.g. ``http://127.0.0.1:41234``. Its data (accounts, keys) under the test's tmp_path; the
    services it would call are not running. For other settings, serve your own app with
    ``tests.web.browser.live_server(create_app(settings))``."""
    with live_server(create_app(Settings(var_dir=tmp_path / "var"))) as url:
        yield url
