"""The start page in a real browser (Debian's Chromium): no serious accessibility fault, "Exit this
page" by keyboard (Shift three times, and Tab to its button), and no scrolling across on a phone.

Plain sync tests: Playwright's sync API cannot run inside pytest-asyncio's event loop."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from playwright.sync_api import Page
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from services.web.app import EXIT_TO, SESSION_COOKIE, content_security_policy, create_app
from shared.settings import Settings
from tests.web.browser import Chromium, answer_outside, assert_accessible, live_server, tab_to

pytestmark = pytest.mark.browser

FOCUS_STYLE = """el => {
  const style = getComputedStyle(el);
  return {outline: style.outline, boxShadow: style.boxShadow, background: style.backgroundColor};
}"""


def test_the_start_page_has_no_serious_accessibility_fault(page: Page, live_web: str) -> None:
    page.goto(f"{live_web}/")
    assert page.locator("h1").inner_text() == "Record and follow a disclosure"
    assert_accessible(page)


def test_shift_three_times_ends_the_session_and_leaves_for_a_neutral_site(
    page: Page, tmp_path: Path
) -> None:
    app = create_app(Settings(var_dir=tmp_path / "var"))
    with live_server(app) as url:
        page.goto(f"{url}/")
        cookies = {c["name"]: c["value"] for c in page.context.cookies()}
        session_id = cookies[SESSION_COOKIE]
        assert app.state.sessions.find(session_id) is not None
        answered = answer_outside(page, EXIT_TO)
        # GOV.UK Frontend listens for the keys once its script has started the component.
        page.locator("[data-govuk-exit-this-page-init]").wait_for(state="attached")

        for _ in range(3):
            page.keyboard.press("Shift")

        page.wait_for_url(EXIT_TO)
        assert answered[0] == EXIT_TO
        assert SESSION_COOKIE not in {c["name"] for c in page.context.cookies()}
        assert app.state.sessions.find(session_id) is None


def test_the_exit_button_is_reached_by_tab_and_shows_its_focus(page: Page, live_web: str) -> None:
    page.goto(f"{live_web}/")
    button = page.get_by_role("button", name="Exit this page")
    unfocused = button.evaluate(FOCUS_STYLE)

    tab_to(page, button)

    assert button.evaluate("el => el.matches(':focus-visible')")
    focused = button.evaluate(FOCUS_STYLE)
    assert (focused["outline"], focused["boxShadow"]) != (
        unfocused["outline"],
        unfocused["boxShadow"],
    ), focused
    assert button.get_attribute("href") == "/exit"


def test_on_a_small_phone_the_start_page_does_not_scroll_across(phone: Page, live_web: str) -> None:
    phone.goto(f"{live_web}/")
    assert phone.viewport_size == {"width": 360, "height": 740}
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360


# The tools themselves ------------------------------------------------------------------------


def test_axe_finds_a_critical_fault_under_the_pages_own_csp(page: Page) -> None:
    """assert_accessible is not blind under our Content-Security-Policy: axe goes in by the
    DevTools protocol, which the CSP does not govern. Moderate faults alone pass."""

    def served(html: str) -> HTMLResponse:
        policy = content_security_policy("a-nonce")
        return HTMLResponse(html, headers={"Content-Security-Policy": policy})

    def moderate(request: Request) -> HTMLResponse:  # no <main>, no <h1>: moderate only
        return served("<!doctype html><html lang='en'><title>T</title><p>Text</p></html>")

    def critical(request: Request) -> HTMLResponse:  # a button with no name: critical
        return served(
            "<!doctype html><html lang='en'><title>T</title>"
            "<main><h1>T</h1><button id='nameless'></button></main></html>"
        )

    app = Starlette(routes=[Route("/moderate", moderate), Route("/critical", critical)])
    with live_server(app) as url:
        page.goto(f"{url}/moderate")
        assert_accessible(page)

        page.goto(f"{url}/critical")
        with pytest.raises(pytest.fail.Exception) as failed:
            assert_accessible(page)
    assert "button-name (critical)" in str(failed.value)
    assert "#nameless" in str(failed.value)


async def test_tests_after_a_browser_test_still_get_their_event_loop(chromium: Chromium) -> None:
    """The run's Chromium stays open; pytest-asyncio could not start this test had Playwright's
    loop been left marked running (see Chromium.lend)."""
    await asyncio.sleep(0)
    assert chromium.browser.is_connected()
