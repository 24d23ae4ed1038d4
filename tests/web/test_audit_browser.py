"""The auditor's as-of page in a real browser (Debian's Chromium): no serious or critical axe
violation, as it stood between two entries, after a step, with a moment refused, and on the
list of cases that leads to it; and the step buttons, plain links, moved by keyboard alone (Tab
to them, then Enter, or Space as GOV.UK Frontend's button script lets a link that looks like a
button be pressed).

Plain sync tests: Playwright's sync API cannot run inside pytest-asyncio's event loop."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from services.web.app import SESSION_COOKIE
from shared.identity import ALL_SCHOOLS, Role
from tests.web.browser import assert_accessible, live_server, tab_to
from tests.web.stack import Stack
from tests.web.stack import stack as stack  # the fixture, whatever conftest holds
from tests.web.test_audit import AUDITOR, Changed, at
from tests.web.test_audit import changed as changed  # the module's case that changed

pytestmark = [pytest.mark.browser, pytest.mark.nats, pytest.mark.e2e]


def test_the_as_of_page_is_accessible_and_stepped_through_by_keyboard(
    stack: Stack, changed: Changed, page: Page
) -> None:
    # Signed in through the pages (with a code from the auditor's app) before the app is
    # served: each TestClient runs the app's lifespan, which the server's must not share.
    with stack.signed_in(AUDITOR, Role.AUDITOR, [ALL_SCHOOLS]) as client:
        session = client.cookies[SESSION_COOKIE]
    with live_server(stack.app) as url:
        page.context.add_cookies([{"name": SESSION_COOKIE, "value": session, "url": url}])
        page.goto(f"{url}{at(changed.case_id, changed.between)}")
        heading = page.locator("h1")
        assert "as it stood at" in heading.inner_text()
        timeline = page.locator("ol.app-timeline")
        assert "Disclosure recorded" in timeline.inner_text()
        assert "Triage recorded" not in timeline.inner_text()
        assert_accessible(page)

        # Next entry: Tab to it, Enter.
        tab_to(page, page.get_by_role("button", name="Next entry"), presses=60)
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert "Triage recorded" in timeline.inner_text()
        assert "Triage corrected" not in timeline.inner_text()
        assert_accessible(page)

        # Previous entry: Tab to it, Space (GOV.UK Frontend's button script).
        page.locator("[data-govuk-button-init]").first.wait_for(state="attached")
        tab_to(page, page.get_by_role("button", name="Previous entry"), presses=60)
        with page.expect_navigation():
            page.keyboard.press(" ")
        assert "Disclosure recorded" in timeline.inner_text()
        assert "Triage recorded" not in timeline.inner_text()

        # Now, then a moment before the case: refused in words, still accessible.
        tab_to(page, page.get_by_role("button", name="Now"), presses=60)
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert "as it stands now" in heading.inner_text()
        page.get_by_label("Day").fill("1")
        page.get_by_label("Month").fill("1")
        page.get_by_label("Year").fill("2020")
        page.get_by_label("Hour").fill("9")
        page.get_by_label("Minute").fill("0")
        with page.expect_navigation():
            page.get_by_role("button", name="Show the case at this moment").press("Enter")
        assert "The case was first recorded at" in page.locator(".govuk-error-summary").inner_text()
        assert_accessible(page)

        # The list of the trust's cases, which leads here.
        page.goto(f"{url}/audit")
        assert page.get_by_role("link", name=changed.reference).count() == 1
        assert_accessible(page)
