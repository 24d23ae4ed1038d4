"""The DSL's pages against the running services: the case list, overdue first; the case page
with its eight steps, chronology and actions; an action declined without its reason refused;
closure refused, listing what is missing with links, then allowed; the PDF downloaded."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ops.demo import DEMO_DISCLOSURE, DEMO_REVIEW, DEMO_RISK, DEMO_TRIAGE
from shared.identity import Role
from tests.web.people import csrf_of
from tests.web.stack import Stack

pytestmark = [pytest.mark.nats, pytest.mark.e2e]
OAK = ["OAK"]


def new_case(stack: Stack, school: str = "OAK", **extra: Any) -> str:
    answer = stack.api(
        "intake",
        "POST",
        "/cases",
        Role.STAFF,
        [school],
        json={"school": school, **DEMO_DISCLOSURE, **extra},
    )
    assert answer.status_code == 201, answer.text
    case_id: str = answer.json()["case_id"]
    stack.wait_for(
        lambda: (
            stack.api("review", "GET", f"/cases/{case_id}", Role.DSL, [school]).status_code == 200
        )
    )
    return case_id


@pytest.fixture
def client(stack: Stack) -> Iterator[TestClient]:
    """The DSL of Oak, signed in (each TestClient runs the app's lifespan: its own clients)."""
    with stack.signed_in("dsl@oak.example", Role.DSL, OAK) as client:
        yield client


def post_page_form(client: TestClient, page: str, action: str, data: dict[str, str]):  # type: ignore[no-untyped-def]
    html = client.get(page).text
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))
    return client.post(action, data={**fields, **data}, follow_redirects=False)


def test_the_case_list_shows_the_school_s_cases_overdue_first(
    stack: Stack, client: TestClient
) -> None:
    case_id = new_case(stack)
    page = client.get("/cases")
    assert page.status_code == 200
    assert f'href="/cases/{case_id}"' in page.text
    closed_only = client.get("/cases?status=closed")
    assert f'href="/cases/{case_id}"' not in closed_only.text


def test_a_case_walked_to_closure_through_the_pages(stack: Stack, client: TestClient) -> None:
    case_id = new_case(stack)
    page = client.get(f"/cases/{case_id}")
    assert page.status_code == 200, page.text
    assert "The policy&#39;s eight steps" in page.text or "eight steps" in page.text
    assert "Cannot start yet" in page.text  # step 5 waits for the triage
    # Step 4: the DSL takes the case from its page.
    taken = client.post(
        f"/cases/{case_id}/take", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False
    )
    assert taken.status_code == 303
    dsl = (Role.DSL, OAK)
    # Step 1's triage through its page, then corrected: the correction needs its reason.
    triage = f"/cases/{case_id}/triage"
    answers = {k: v for k, v in DEMO_TRIAGE.items() if k != "image_locations"}
    answers["location_kind"] = "site_or_app"
    answers["location_name"] = "an invented group chat"
    answers["disclosing_about"] = "sending"
    assert post_page_form(client, triage, triage, answers).status_code == 303
    unexplained = post_page_form(client, triage, triage, answers)
    assert unexplained.status_code == 400
    assert 'href="#reason"' in unexplained.text
    corrected = post_page_form(client, triage, triage, {**answers, "reason": "Invented: checked"})
    assert corrected.status_code == 303
    recorded = stack.api("intake", "GET", triage, *dsl).json()
    assert [t["answers"]["image_nature"] for t in recorded] == ["potentially_illegal"] * 2
    assert recorded[0]["image_locations"] == DEMO_TRIAGE["image_locations"]
    stack.wait_for(
        lambda: (
            len(
                stack.api("referral", "GET", f"/cases/{case_id}/assessments", *dsl)
                .json()
                .get("assessments", [])
            )
            >= 2
        )
    )
    # Step 5's risk assessment through its page: refused without its reasons first.
    risk = f"/cases/{case_id}/risk-assessment"
    factors = {k: str(v) for k, v in DEMO_RISK["factors"].items()}  # type: ignore[attr-defined]
    refused = post_page_form(client, risk, risk, {**factors, "conclusion": "medium"})
    assert refused.status_code == 400
    assert 'href="#reasons"' in refused.text
    assessed = post_page_form(
        client, risk, risk, {**factors, "conclusion": "medium", "reasons": DEMO_RISK["reasons"]}
    )
    assert assessed.status_code == 303, assessed.text[-2000:]
    actions = stack.wait_for(
        lambda: (
            stack.api("referral", "GET", f"/cases/{case_id}", *dsl).json()["classification"]
            == "aggravated"
            and stack.api("referral", "GET", f"/cases/{case_id}", *dsl).json()["actions"]
        )
    )
    page = client.get(f"/cases/{case_id}")
    assert "Dsl@oak.example" in page.text or "dsl@oak.example" in page.text
    assert "Aggravated" in page.text

    # Declining the parents' action without the reason is refused, naming the field.
    action_page = f"/cases/{case_id}/actions/parents_or_carers"
    refused = post_page_form(client, action_page, action_page, {"decision": "declined"})
    assert refused.status_code == 400
    assert "There is a problem" in refused.text
    assert 'href="#reason"' in refused.text

    # Closing now is refused, each missing thing a link to where it is done.
    close = post_page_form(client, f"/cases/{case_id}/close", f"/cases/{case_id}/close", {})
    assert close.status_code == 400
    assert "cannot be closed yet" in close.text
    assert f'href="/cases/{case_id}/actions/senior_management"' in close.text

    for action in actions:
        name = action["action"]
        path = f"/cases/{case_id}/actions/{name}"
        if name == "parents_or_carers":
            data = {"decision": "declined", "reason": "Invented: telling them puts YP at risk."}
        else:
            data = {"decision": "completed", "how": "phone", "whom": "Invented contact"}
        done = post_page_form(client, path, path, data)
        assert done.status_code == 303, (name, done.text[-2000:])
    # Steps 7 and 8 through their pages: support for a young person of the case, a review.
    support = f"/cases/{case_id}/record/support"
    given = {"pseudonym": "YP-DEMO-1", "kind": "pastoral", "given_by": "Invented", "detail": "x"}
    assert post_page_form(client, support, support, given).status_code == 303
    reviewed = f"/cases/{case_id}/record/reviews"
    assert post_page_form(client, reviewed, reviewed, DEMO_REVIEW).status_code == 303
    stack.wait_for(
        lambda: not stack.api("review", "GET", f"/cases/{case_id}", *dsl).json()["open_actions"]
    )
    closed = post_page_form(client, f"/cases/{case_id}/close", f"/cases/{case_id}/close", {})
    assert closed.status_code == 303, closed.text[-3000:]
    page = client.get(f"/cases/{case_id}")
    assert "Closed" in page.text
    pdf = client.get(f"/cases/{case_id}/export.pdf")
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    assert "attachment" in pdf.headers["content-disposition"]


def test_another_school_s_case_is_not_found_and_staff_cannot_reach_the_dsl_pages(
    stack: Stack, client: TestClient
) -> None:
    elm_case = new_case(stack, school="ELM")
    other = client.get(f"/cases/{elm_case}")
    assert other.status_code == 404
    assert "not one of yours" in other.text
    with stack.signed_in("t@oak.example", Role.STAFF, OAK) as staff:
        assert staff.get("/cases").status_code == 403
        assert staff.get(f"/cases/{elm_case}").status_code == 403
    with stack.client() as anonymous:
        answer = anonymous.get("/cases", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/sign-in?then=/cases"
