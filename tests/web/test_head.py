"""The head's decisions against the running services: a device search authorised after every
condition is ticked and the answers checked, reaching intake once however often it is sent; a
condition left unticked refused by name; a viewing refused by intake's own rule, shown in the
error summary, then agreed once the DSL has the case; another school's head not finding the
case, and staff and the DSL not let in (the declarations' RECORDED_BY is the head alone)."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from services.web.pages.head import SEARCH, VIEWING, Decision
from shared.identity import Role
from tests.web.stack import Stack

pytestmark = [pytest.mark.nats, pytest.mark.e2e]
OAK = ["OAK"]
HEAD = "head@oak.example"
DSL = "dsl@oak.example"

DISCLOSURE = {
    "disclosure_route": "young_person",
    "summary": "Invented: YP-H1 says a photo she sent one friend is in a year-group chat.",
    "young_people": [
        {"pseudonym": "YP-H1", "year_group": 10, "sex": "female", "roles": ["pictured", "sender"]},
        {"pseudonym": "YP-H2", "year_group": 10, "sex": "male", "roles": ["forwarder"]},
    ],
}


def new_case(stack: Stack) -> tuple[str, str]:
    """A case of Oak recorded by a member of staff; its id and reference."""
    answer = stack.api(
        "intake", "POST", "/cases", Role.STAFF, OAK, json={"school": "OAK", **DISCLOSURE}
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["case_id"], answer.json()["reference"]


def version(stack: Stack, case_id: str) -> str:
    """Intake's ETag of the case: it changes with each entry recorded."""
    return stack.api("intake", "GET", f"/cases/{case_id}", Role.HEAD, OAK).headers["ETag"]


def hidden(page: str) -> dict[str, list[str]]:
    """The page's hidden inputs, as its form would send them (a name may repeat)."""
    fields: dict[str, list[str]] = {}
    for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page):
        fields.setdefault(name, []).append(html.unescape(value))
    return fields


def send(client: TestClient, page: str, path: str, data: dict[str, Any]) -> httpx.Response:
    """Sends the page's form (its hidden inputs, then ``data``) as the browser would."""
    return client.post(path, data={**hidden(page), **data}, follow_redirects=False)


def every(decision: Decision, *leaving_out: str) -> list[str]:
    return [c.code for c in decision.conditions if c.code not in leaving_out]


def summary_of(page: str) -> str:
    found = re.search(r'<div class="govuk-error-summary".*?</ul>', page, re.DOTALL)
    assert found, "no error summary"
    return html.unescape(found.group(0))


def test_a_head_authorises_a_search_after_ticking_the_conditions_and_checking_answers(
    stack: Stack,
) -> None:
    case_id, reference = new_case(stack)
    path = f"/cases/{case_id}/authorise-search"
    with stack.signed_in(HEAD, Role.HEAD, OAK) as head:
        form = head.get(path)
        assert form.status_code == 200, form.text
        text = html.unescape(form.text)
        assert f"Case {reference}" in text
        for condition in SEARCH.conditions:
            assert condition.text in text
        assert "Female, Year 10; pictured, sender" in text  # the same-sex rule needs it
        assert '<script type="module" src="/static/authorise.mjs"></script>' in form.text
        before = version(stack, case_id)

        answers = {"searcher": "staff.b", "pseudonym": "YP-H1", "step": "check"}
        check = send(head, form.text, path, {**answers, "conditions": every(SEARCH)})
        assert check.status_code == 200, check.text
        shown = html.unescape(check.text)
        assert "Check your answers before you authorise the search" in shown
        assert "staff.b" in shown
        assert "Now, when it is recorded" in shown
        assert "This cannot be undone" in shown
        assert version(stack, case_id) == before  # nothing recorded until the head confirms

        # "Change your answers" goes back to the form as it was filled in.
        changed = send(head, check.text, path, {"step": "change"})
        assert changed.status_code == 200
        assert 'value="staff.b"' in changed.text
        assert re.search(r'id="condition-same-sex"[^>]*checked', changed.text)
        assert hidden(changed.text)["idempotency_key"] == hidden(form.text)["idempotency_key"]

        recorded = send(head, check.text, path, {"step": "record"})
        assert recorded.status_code == 303, recorded.text
        assert recorded.headers["location"] == f"/cases/{case_id}?done=search_authorised#step-2"
        assert "Recorded: Search authorised" in head.get(recorded.headers["location"]).text
        after = version(stack, case_id)
        assert after != before

        # Pressed again (Back, or twice): the same key, so nothing new.
        again = send(head, check.text, path, {"step": "record"})
        assert again.status_code == 303
        assert version(stack, case_id) == after

    def authorised() -> list[dict[str, Any]]:
        review = stack.api("review", "GET", f"/cases/{case_id}", Role.DSL, OAK)
        if review.status_code != 200:
            return []
        return [e for e in review.json()["entries"] if e["kind"] == "device_search_authorised"]

    entries = stack.wait_for(authorised)
    assert [e["summary"] for e in entries] == [
        f"{HEAD} authorised staff.b to search the device of YP-H1"
    ]


def test_the_form_sent_with_a_condition_unticked_is_refused_naming_it(stack: Stack) -> None:
    case_id, _ = new_case(stack)
    path = f"/cases/{case_id}/authorise-search"
    before = version(stack, case_id)
    with stack.signed_in(HEAD, Role.HEAD, OAK) as head:
        form = head.get(path)
        answers = {"searcher": "staff.b", "pseudonym": "YP-H1"}
        conditions = every(SEARCH, "same_sex", "distress")
        refused = send(head, form.text, path, {**answers, "conditions": conditions})
        assert refused.status_code == 400
        summary = summary_of(refused.text)
        assert "Confirm that the person searching is of the same sex as the young person" in summary
        assert 'href="#condition-same-sex"' in summary
        assert 'href="#condition-distress"' in summary
        assert "safeguarding team" not in summary  # ticked: not named
        # What was ticked and typed is kept, to tick the rest.
        assert re.search(r'id="condition-policies"[^>]*checked', refused.text)
        assert not re.search(r'id="condition-same-sex"[^>]*checked', refused.text)
        assert 'value="staff.b"' in refused.text

        # Sent straight to be recorded, past "check your answers": refused all the same.
        forced = send(
            head, form.text, path, {**answers, "conditions": conditions, "step": "record"}
        )
        assert forced.status_code == 400
        assert "Confirm that searching will not cause" in summary_of(forced.text)
    assert version(stack, case_id) == before


def test_a_viewing_intake_refuses_is_shown_by_its_rule_then_agreed_once_the_dsl_has_the_case(
    stack: Stack,
) -> None:
    case_id, _ = new_case(stack)
    path = f"/cases/{case_id}/authorise-viewing"
    answers = {
        "dsl": DSL,
        "pseudonym": "YP-H1",
        "reason": "Invented: the police asked the school to confirm what the chat shows.",
        "conditions": every(VIEWING),
    }
    with stack.signed_in(HEAD, Role.HEAD, OAK) as head:
        form = head.get(path)
        assert "No DSL has taken this case yet" in form.text
        check = send(head, form.text, path, {**answers, "step": "check"})
        assert check.status_code == 200, check.text
        refused = send(head, check.text, path, {"step": "record"})
        assert refused.status_code == 400
        assert "viewing is by the DSL" in summary_of(refused.text)
        assert "no DSL has taken the case yet" in summary_of(refused.text)

        taken = stack.api(
            "intake", "POST", f"/cases/{case_id}/dsl", Role.DSL, OAK, json={"dsl": DSL}
        )
        assert taken.is_success, taken.text
        form = head.get(path)
        assert f'name="dsl" type="text" spellcheck="false" value="{DSL}"' in form.text
        check = send(head, form.text, path, {**answers, "step": "check"})
        recorded = send(head, check.text, path, {"step": "record"})
        assert recorded.status_code == 303, recorded.text
        assert recorded.headers["location"].endswith("?done=image_viewing_agreed#step-3")

    image = stack.api("intake", "GET", f"/cases/{case_id}/image", Role.HEAD, OAK).json()
    [agreement] = image["viewing_agreements"]
    assert (agreement["dsl"], agreement["pseudonym"], agreement["recorded_by"]) == (
        DSL,
        "YP-H1",
        HEAD,
    )


def test_a_head_of_another_school_finds_no_such_case(stack: Stack) -> None:
    case_id, _ = new_case(stack)
    with stack.signed_in("head@elm.example", Role.HEAD, ["ELM"]) as elm:
        for decision in (SEARCH, VIEWING):
            page = elm.get(f"/cases/{case_id}/{decision.path}")
            assert page.status_code == 404
            assert "Page not found" in page.text


def test_staff_and_the_dsl_are_not_let_in_since_only_the_head_records_these(
    stack: Stack,
) -> None:
    case_id, _ = new_case(stack)
    for username, role in (("staff@oak.example", Role.STAFF), (DSL, Role.DSL)):
        with stack.signed_in(username, role, OAK) as client:
            for decision in (SEARCH, VIEWING):
                page = client.get(f"/cases/{case_id}/{decision.path}")
                assert page.status_code == 403, (username, decision.path)
                assert "You cannot see this page" in page.text
