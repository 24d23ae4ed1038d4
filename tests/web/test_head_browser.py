"""The head's search authorisation in a real browser (Chromium, driven by Playwright), with its
script: the form is not sent while a condition is unticked, the error summary naming each one;
once every one is ticked it is sent. No Content-Security-Policy violation, and no accessibility
violation axe-core finds, on the form or on "check your answers"."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

from services.web.pages.head import SEARCH
from services.web.sessions import SESSION_COOKIE
from shared.identity import Role
from tests.web.browser import live_server
from tests.web.stack import Stack
from tests.web.test_head import OAK, new_case

pytestmark = [pytest.mark.browser, pytest.mark.nats, pytest.mark.e2e]


@pytest.fixture
def session(stack: Stack) -> str:
    """The session of the head of Oak, signed in through the pages."""
    with stack.signed_in("head@oak.example", Role.HEAD, OAK) as client:
        return client.cookies[SESSION_COOKIE]


@pytest.fixture
def served(session: str, page: Page, stack: Stack) -> Iterator[str]:
    """The web app served over HTTP for the browser, the head of Oak signed in on ``page``.
    Its lifespan runs in the server, after the test clients of signing in closed theirs."""
    with live_server(stack.app) as url:
        page.context.add_cookies([{"name": SESSION_COOKIE, "value": session, "url": url}])
        yield url


WCAG = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]}
}
"""axe-core's WCAG 2.2 A and AA rules. Its best practices are left out: GOV.UK's page template
puts the back link before ``<main>``, which its "region" rule flags."""


def assert_accessible(page: Page) -> None:
    found = Axe().run(page, options=WCAG)
    assert found.violations_count == 0, found.generate_report()


def test_the_browser_does_not_send_the_form_until_every_condition_is_ticked(
    stack: Stack, served: str, page: Page
) -> None:
    case_id, reference = new_case(stack)
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Security Policy" in m.text else None)
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.goto(f"{served}/cases/{case_id}/authorise-search")
    assert page.locator("h1").inner_text() == SEARCH.title

    left = ("same_sex", "distress")
    for condition in SEARCH.conditions:
        if condition.code not in left:
            page.check(f"#{condition.id}")
    page.fill("#searcher", "staff.b")
    page.check("#pseudonym")
    page.click("button[value=check]")

    summary = page.locator(".govuk-error-summary")
    summary.wait_for()
    links = summary.locator("a")
    assert links.all_inner_texts() == [c.unticked for c in SEARCH.conditions if c.code in left]
    assert [links.nth(i).get_attribute("href") for i in range(2)] == [
        "#condition-same-sex",
        "#condition-distress",
    ]
    assert page.evaluate("document.activeElement.classList.contains('govuk-error-summary')")
    assert page.title().startswith("Error: ")
    assert posts == []  # not sent
    assert_accessible(page)

    for code in left:
        page.check(f"#condition-{code.replace('_', '-')}")
    page.click("button[value=check]")
    page.locator("h1", has_text="Check your answers").wait_for()
    assert posts == [f"{served}/cases/{case_id}/authorise-search"]
    assert reference in page.locator("#answers").inner_text()
    assert_accessible(page)
    assert violations == []
