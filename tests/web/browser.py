"""Browser tests' tools: Debian's Chromium driven by Playwright's sync API, an ASGI app served by
uvicorn on a free port, axe-core's check of a page, and a stand-in for the outside world.

Browser tests are plain sync functions: Playwright's sync API refuses to start inside a running
event loop, and pytest-asyncio (auto mode) runs every ``async def`` test inside one.
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import uvicorn
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, CDPSession, Locator, Page, Playwright, sync_playwright
from starlette.types import ASGIApp

CHROMIUM = os.environ.get("SAFEGUARD_CHROMIUM", "/usr/bin/chromium")
"""Debian's Chromium (.ci/run installs it): Playwright's own browser download needs the internet."""

CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    # The machine's closed network refuses the connections Chromium makes of its own accord
    # (QUIC, updates, sync, safe browsing); without these it waits on them.
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

PHONE: dict[str, Any] = {
    "viewport": {"width": 360, "height": 740},
    "is_mobile": True,
    "has_touch": True,
}
"""A small phone, 360 CSS pixels wide as many Android phones are. (WCAG's reflow criterion
asks for 320: a test of that passes ``viewport`` of its own.)"""

TIMEOUT_MS = 10_000
"""Playwright waits 30 s by default; our pages come from this machine, so a wait longer than
this is a failure, and the test should say so well within pytest's own timeout."""

BLOCKING_IMPACTS = ("serious", "critical")

_AXE = Axe()

NEUTRAL_PAGE = "<!doctype html><html lang='en'><title>Elsewhere</title><p>Another site.</p></html>"


class Chromium:
    """Playwright's driver and one Chromium, started once for the whole run.

    Playwright's sync API marks its own event loop as the thread's running loop after every call
    and leaves the mark between calls (``wait_for_future`` in playwright/_impl/_greenlets.py).
    Left so, every test after the first browser test would meet a "running" loop, and
    pytest-asyncio's tests and ``asyncio.run()`` would refuse to start. So the mark is lifted
    while no browser test runs and put back for each one (``lend``); without it put back,
    Playwright's next call finds no running loop and loses its connection to the driver."""

    def __init__(self, executable: str = CHROMIUM) -> None:
        self.executable = executable
        self._playwright: Playwright | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._browser: Browser | None = None

    @property
    def browser(self) -> Browser:
        assert self._browser is not None, "Chromium is not started"
        return self._browser

    def start(self) -> None:
        path = Path(self.executable)
        if not (path.is_file() and os.access(path, os.X_OK)):
            # A failure, not a skip: CI installs Chromium, so its absence is a broken machine.
            pytest.fail(
                f"No Chromium at {path}: install Debian's package (`apt-get install chromium`, "
                "as .ci/run does) or point SAFEGUARD_CHROMIUM at a Chromium",
                pytrace=False,
            )
        self._playwright = sync_playwright().start()
        self._loop = asyncio.get_running_loop()  # the mark Playwright left
        try:
            self._browser = self._playwright.chromium.launch(
                executable_path=self.executable, args=list(CHROMIUM_ARGS)
            )
        except BaseException:
            self._playwright.stop()
            raise
        _lift_mark()

    @contextmanager
    def lend(self) -> Iterator[Browser]:
        """The browser, for one test: Playwright's loop marked running only meanwhile."""
        assert self._loop is not None, "Chromium is not started"
        asyncio._set_running_loop(self._loop)
        try:
            yield self.browser
        finally:
            _lift_mark()

    def stop(self) -> None:
        if self._playwright is None:
            return
        asyncio._set_running_loop(self._loop)
        try:
            if self._browser is not None:
                self._browser.close()
        finally:
            self._playwright.stop()  # lifts the mark itself as its loop ends
            self._playwright = self._browser = self._loop = None


def _lift_mark() -> None:
    asyncio._set_running_loop(None)


@contextmanager
def open_page(browser: Browser, **context_options: Any) -> Iterator[Page]:
    """A page in a browser context of its own (cookies, storage, viewport), closed afterwards."""
    context = browser.new_context(**context_options)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


@contextmanager
def live_server(app: ASGIApp, *, startup_timeout: float = 10.0) -> Iterator[str]:
    """Serves ``app`` (any ASGI app) with uvicorn on a free 127.0.0.1 port from a thread, and
    yields its base URL (``http://127.0.0.1:<port>``, no trailing slash); stops it afterwards.

    The socket is bound here before uvicorn starts, so no other process can take the port in
    between. uvicorn runs the app's lifespan, and installs no signal handlers off the main
    thread, so Ctrl-C still reaches pytest."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    ready = threading.Event()
    server = _Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=5), ready)

    def serve() -> None:
        try:
            server.run(sockets=[sock])
        finally:
            ready.set()  # also when uvicorn gave up: it ends (sys.exit) if the app's startup fails

    thread = threading.Thread(target=serve, name=f"uvicorn on {port}", daemon=True)
    thread.start()
    if not ready.wait(startup_timeout) or not server.started:
        server.should_exit = True
        thread.join(startup_timeout)
        sock.close()
        pytest.fail(f"uvicorn did not start serving {app!r} (its log says why)", pytrace=False)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        assert not thread.is_alive(), f"uvicorn on port {port} did not stop"


class _Server(uvicorn.Server):
    """uvicorn's server, telling the test the moment it listens."""

    def __init__(self, config: uvicorn.Config, ready: threading.Event) -> None:
        super().__init__(config)
        self.ready = ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self.ready.set()


def assert_accessible(page: Page) -> None:
    """Fails listing every axe-core violation of impact serious or critical on ``page`` as it is
    now (its id, impact, help and the elements' selectors); moderate and minor ones pass.

    axe is injected with ``page.evaluate``, which Chromium runs through the DevTools protocol
    whatever the page's Content-Security-Policy says, so our CSP (no inline script without a
    nonce) needs no ``bypass_csp``; test_browser_start.py shows axe finding a violation on a
    page served under that same CSP."""
    violations = _AXE.run(page).response["violations"]
    blocking = [v for v in violations if v["impact"] in BLOCKING_IMPACTS]
    if not blocking:
        return
    lines = [f"{len(blocking)} serious or critical accessibility violation(s) on {page.url}:"]
    for violation in blocking:
        targets = "; ".join(_selector(node["target"]) for node in violation["nodes"])
        lines.append(
            f"- {violation['id']} ({violation['impact']}): {violation['help']}. At: {targets}"
        )
    pytest.fail("\n".join(lines), pytrace=False)


def _selector(target: list[Any]) -> str:
    # A node inside frames or shadow roots has one selector per level, some of them lists.
    return " >>> ".join(part if isinstance(part, str) else " >>> ".join(part) for part in target)


def tab_to(page: Page, element: Locator, *, presses: int = 20) -> int:
    """Presses Tab until ``element`` has the focus; returns how many presses it took. Fails if
    it never gets it (not reachable by keyboard, or behind more than ``presses`` stops)."""
    target = element.element_handle()  # waits for it once, then each press is a quick look
    for pressed in range(1, presses + 1):
        page.keyboard.press("Tab")
        if target.evaluate("el => el === document.activeElement"):
            return pressed
    pytest.fail(f"{element} did not get the focus in {presses} presses of Tab", pytrace=False)


def answer_outside(page: Page, address: str, html: str = NEUTRAL_PAGE) -> list[str]:
    """Answers every request the page's browser makes to ``address``'s site, inside the browser,
    so that none leaves the machine: documents with ``html``, anything else with 404. Returns
    the list of the URLs answered, which grows as the browser asks.

    Not ``page.route``: Playwright routes no request that a redirect makes (as designed,
    microsoft/playwright#2617 and #3994), and our /exit reaches the outside by a 303. Chromium's
    own Fetch domain, through a DevTools session, pauses those too. Do not use both on one page:
    Playwright's routes use the same domain."""
    parts = urlsplit(address)
    answered: list[str] = []
    cdp: CDPSession = page.context.new_cdp_session(page)

    def answer(event: dict[str, Any]) -> None:
        answered.append(event["request"]["url"])
        document = event["resourceType"] == "Document"
        cdp.send(
            "Fetch.fulfillRequest",
            {
                "requestId": event["requestId"],
                "responseCode": 200 if document else 404,
                "responseHeaders": [{"name": "Content-Type", "value": "text/html; charset=utf-8"}],
                "body": base64.b64encode(html.encode() if document else b"").decode(),
            },
        )

    cdp.on("Fetch.requestPaused", answer)
    cdp.send("Fetch.enable", {"patterns": [{"urlPattern": f"{parts.scheme}://{parts.netloc}/*"}]})
    return answered
