"""A case walked through the pages alone, in Debian's Chromium: each role signs in (the one-time
password changed, a code from an authenticator app set up), a member of staff records the
disclosure on a 360 px phone, the DSL takes it through the steps to closure (a decline without
its reason refused, a closure refused and then allowed, the PDF downloaded), the head sees the
authorisation, the trust lead the charts, the auditor the case as it stood. axe-core on every
page on the way: no serious or critical violation.

With ``SAFEGUARD_SCREENSHOTS`` naming a directory, the main pages are saved there as PNG files
(``docs/screenshots/make.py`` runs this test so)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Page, expect

from ops.demo import DEMO_DISCLOSURE, DEMO_REVIEW, DEMO_RISK, DEMO_TRIAGE
from shared.identity import ALL_SCHOOLS, Role
from tests.web.browser import PHONE, assert_accessible, live_server, open_page
from tests.web.stack import Stack

pytestmark = [pytest.mark.browser, pytest.mark.nats, pytest.mark.e2e]

SHOTS = os.environ.get("SAFEGUARD_SCREENSHOTS", "")
NEW_PASSWORD = "an invented passphrase for the walk"
RECOVERY: dict[str, str] = {}
"""A recovery code of each person who set up an authenticator app in the walk."""


def shot(page: Page, name: str) -> None:
    """The page as it is, checked by axe, and kept as a screenshot when asked."""
    assert_accessible(page)
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def first_sign_in(page: Page, url: str, username: str, password: str) -> None:
    """Through the pages: the one-time password, a password of one's own, and for a role that
    needs it, the authenticator app set up with the key the page shows."""
    page.goto(f"{url}/sign-in")
    shot(page, "sign-in")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("h1")).to_have_text("Choose your password")
    assert_accessible(page)
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_label("Type it again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Save password").click()
    page.wait_for_url(re.compile(r"/(sign-in/set-up-code|disclosures|cases|trust|audit)"))
    if "set-up-code" in page.url:
        assert_accessible(page)
        secret = page.locator("#secret").inner_text().replace(" ", "")
        page.get_by_label("Code from your app").fill(pyotp.TOTP(secret).now())
        page.get_by_role("button", name="Continue").click()
        expect(page.locator("h1")).to_have_text("Your recovery codes")
        assert page.locator("#recovery-codes li").count() == 10
        RECOVERY[username] = page.locator("#recovery-codes li").first.inner_text().strip()
        assert_accessible(page)
        page.get_by_role("button", name=re.compile("I have kept my codes")).click()


def check(page: Page, name: str, value: str) -> None:
    page.locator(f'input[name="{name}"][value="{value}"]').check()


def test_a_case_walked_from_the_phone_to_closure_through_the_pages(
    stack: Stack, browser: object
) -> None:
    passwords = {
        who: stack.accounts.add(who, role, schools, by="test")
        for who, role, schools in (
            ("teacher@oak.example", Role.STAFF, ["OAK"]),
            ("walk.dsl@oak.example", Role.DSL, ["OAK"]),
            ("walk.head@oak.example", Role.HEAD, ["OAK"]),
            ("walk.lead@trust.example", Role.TRUST_LEAD, [ALL_SCHOOLS]),
            ("walk.auditor@trust.example", Role.AUDITOR, [ALL_SCHOOLS]),
        )
    }
    with live_server(stack.app) as url:
        # The member of staff, on a phone.
        with open_page(browser, **PHONE) as phone:  # type: ignore[arg-type]
            first_sign_in(phone, url, "teacher@oak.example", passwords["teacher@oak.example"])
            case_id = record_disclosure(stack, phone, url)

        with open_page(browser) as page:  # type: ignore[arg-type]
            first_sign_in(page, url, "walk.dsl@oak.example", passwords["walk.dsl@oak.example"])
            dsl_walks_the_case(stack, page, url, case_id)
            sign_in_again_with_a_recovery_code(page, url, "walk.dsl@oak.example")

        with open_page(browser) as page:  # type: ignore[arg-type]
            first_sign_in(page, url, "walk.head@oak.example", passwords["walk.head@oak.example"])
            page.goto(f"{url}/cases/{case_id}")
            assert_accessible(page)
            page.goto(f"{url}/cases/{case_id}/authorise-search")
            expect(page.locator("h1")).to_contain_text("search")
            assert_accessible(page)

        with open_page(browser) as page:  # type: ignore[arg-type]
            lead = "walk.lead@trust.example"
            first_sign_in(page, url, lead, passwords[lead])
            expect(page.locator("h1")).to_have_text("Statistics across the trust")
            shot(page, "trust-statistics")
            page.goto(f"{url}/trust/overdue")
            assert_accessible(page)

        with open_page(browser) as page:  # type: ignore[arg-type]
            auditor = "walk.auditor@trust.example"
            first_sign_in(page, url, auditor, passwords[auditor])
            page.goto(f"{url}/audit/cases/{case_id}")
            page.locator("#previous-entry").click()
            expect(page.locator("h1")).to_contain_text("as it stood at")
            shot(page, "auditor-as-of")


def record_disclosure(stack: Stack, phone: Page, url: str) -> str:
    """The disclosure, through the staff form on the phone; returns the case's id."""
    expect(phone.locator("h1")).to_contain_text("disclosure")
    shot(phone, "staff-disclosure-phone")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["viewport"]["width"]
    person = DEMO_DISCLOSURE["young_people"][0]  # type: ignore[index]
    check(phone, "disclosure_route", "young_person")
    phone.locator('textarea[name="summary"]').fill(str(DEMO_DISCLOSURE["summary"]))
    phone.locator('input[name="young_people.0.pseudonym"]').fill(person["pseudonym"])
    phone.locator('input[name="young_people.0.year_group"]').fill(str(person["year_group"]))
    for role in person["roles"]:
        check(phone, "young_people.0.roles", role)
    phone.get_by_role("button", name=re.compile("Send|Record")).click()
    found = re.search(r"OAK-\d{4}-\d{4}", phone.locator(".govuk-panel").inner_text())
    assert found, phone.locator(".govuk-panel").inner_text()
    reference = found.group(0)
    shot(phone, "staff-receipt-phone")
    stack.wait_for(
        lambda: any(
            c["reference"] == reference
            for c in stack.api("review", "GET", "/cases", Role.DSL, ["OAK"]).json()["cases"]
        )
    )
    cases = stack.api("review", "GET", "/cases", Role.DSL, ["OAK"]).json()["cases"]
    return str(next(c["case_id"] for c in cases if c["reference"] == reference))


def dsl_walks_the_case(stack: Stack, page: Page, url: str, case_id: str) -> None:
    expect(page.locator("h1")).to_have_text("Cases")
    shot(page, "dsl-case-list")
    page.locator(f'a[href="/cases/{case_id}"]').click()
    expect(page.locator("h1")).to_contain_text("Case OAK-")
    page.get_by_role("button", name="Take this case").click()
    expect(page.locator(".govuk-notification-banner--success")).to_be_visible()

    page.get_by_role("button", name="Record the triage").click()
    for question, answer in DEMO_TRIAGE.items():
        if question == "image_locations":
            continue
        for value in answer if isinstance(answer, list) else [answer]:
            check(page, question, str(value))
    check(page, "location_kind", "site_or_app")
    page.get_by_label(re.compile("The device, network, site or app")).fill("an invented chat")
    assert_accessible(page)
    page.get_by_role("button", name="Save the triage").click()
    expect(page.locator(".govuk-notification-banner--success")).to_be_visible()

    stack.wait_for(
        lambda: (
            len(
                stack.api("referral", "GET", f"/cases/{case_id}/assessments", Role.DSL, ["OAK"])
                .json()
                .get("assessments", [])
            )
            >= 2
        )
    )
    page.goto(f"{url}/cases/{case_id}/risk-assessment")
    for factor, value in DEMO_RISK["factors"].items():  # type: ignore[attr-defined]
        if factor == "age_gap_years":
            page.locator(f'input[name="{factor}"]').fill(str(value))
        else:
            check(page, factor, str(value))
    check(page, "conclusion", "medium")
    page.locator('textarea[name="reasons"]').fill(str(DEMO_RISK["reasons"]))
    assert_accessible(page)
    page.get_by_role("button", name="Save the risk assessment").click()
    expect(page.locator(".govuk-notification-banner--success")).to_be_visible()

    def actions() -> list[dict[str, object]]:
        answer = stack.api("referral", "GET", f"/cases/{case_id}", Role.DSL, ["OAK"]).json()
        done = answer["classification"] == "aggravated"
        return list(answer["actions"]) if done else []

    required = stack.wait_for(actions)
    page.goto(f"{url}/cases/{case_id}")
    shot(page, "dsl-case-page")

    # Declining the parents' action without the reason: the error summary names it.
    page.goto(f"{url}/cases/{case_id}/actions/parents_or_carers")
    check(page, "decision", "declined")
    page.get_by_role("button", name="Record it").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("reason")
    assert_accessible(page)
    page.locator('textarea[name="reason"]').fill("Invented: telling them would put YP at risk")
    page.get_by_role("button", name="Record it").click()
    expect(page.locator(".govuk-notification-banner--success")).to_be_visible()

    # Closing now is refused, listing what is missing, each a link.
    page.goto(f"{url}/cases/{case_id}/close")
    page.get_by_role("button", name="Close the case").click()
    refusal = page.locator(".govuk-error-summary")
    expect(refusal).to_contain_text("cannot be closed yet")
    assert refusal.locator("a").count() >= 2
    assert_accessible(page)

    for action in required:
        if action["action"] == "parents_or_carers":
            continue
        page.goto(f"{url}/cases/{case_id}/actions/{action['action']}")
        check(page, "decision", "completed")
        check(page, "how", "phone")
        page.get_by_label(re.compile("Whom you dealt with")).fill("An invented contact")
        page.get_by_role("button", name="Record it").click()
        expect(page.locator(".govuk-notification-banner--success")).to_be_visible()

    page.goto(f"{url}/cases/{case_id}/record/reviews")
    for name, text in DEMO_REVIEW.items():
        page.locator(f'[name="{name}"]').fill(text)
    assert_accessible(page)
    page.get_by_role("button", name="Record it").click()
    expect(page.locator(".govuk-notification-banner--success")).to_be_visible()
    stack.wait_for(
        lambda: (
            not stack.api("review", "GET", f"/cases/{case_id}", Role.DSL, ["OAK"]).json()[
                "open_actions"
            ]
        )
    )
    page.goto(f"{url}/cases/{case_id}/close")
    page.get_by_role("button", name="Close the case").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Closed")
    with page.expect_download() as downloading:
        page.get_by_role("link", name=re.compile("Download the case history")).click()
    pdf = Path(downloading.value.path())
    assert pdf.read_bytes().startswith(b"%PDF")

    # A case that is not the DSL's: the 404 page, accessible too.
    page.goto(f"{url}/cases/00000000-0000-4000-8000-000000000000")
    expect(page.locator("h1")).to_have_text("Page not found")
    assert_accessible(page)


def sign_in_again_with_a_recovery_code(page: Page, url: str, username: str) -> None:
    """Signed out, then in again: the password, then one of the recovery codes the page gave
    (a new code from the app would mean waiting for the next 30 s step)."""
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("body")).to_contain_text("You have signed out")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("h1")).to_contain_text("Enter the code")
    assert_accessible(page)
    page.get_by_label(re.compile("Enter the code")).fill(RECOVERY[username])
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("h1")).to_have_text("Cases")
