"""Step 1 through the pages: a member of staff records a disclosure on the form and gets its
reference; the same form sent twice is one case; what is wrong is named in GOV.UK's error
summary with the form filled in again as it was sent; each user records only for their own
schools and reads only their own receipts. The script's way in (a fresh token, then the same
form answered in JSON) is tested here as the script uses it; the browser tests drive the
script itself."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid5
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from starlette.datastructures import FormData

from services.intake.domain.disclosure import DISCLOSURE_ROUTES
from services.web.disclosure_form import MAX_ROWS, ROLE_WORDS, ROLES, ROUTE_WORDS, Filled, checked
from shared.application import NAMESPACE
from shared.identity import Role
from shared.trust import School
from tests.web.people import csrf_of
from tests.web.stack import Stack

pytestmark = [pytest.mark.nats, pytest.mark.e2e]
LONDON = ZoneInfo("Europe/London")  # the demo trust's
OAK = ["OAK"]


def hidden_fields(html: str) -> dict[str, str]:
    """What the form carries besides its questions: the CSRF token, the key, the rows."""
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))


def yesterday_at_nine() -> datetime:
    return (datetime.now(LONDON) - timedelta(days=1)).replace(
        hour=9, minute=15, second=0, microsecond=0
    )


def answers(summary: str, **changed: Any) -> dict[str, Any]:
    """The form's questions answered as a member of staff would; invented throughout."""
    at = yesterday_at_nine()
    return {
        "disclosure_route": "young_person",
        "summary": summary,
        "occurred_day": str(at.day),
        "occurred_month": str(at.month),
        "occurred_year": str(at.year),
        "occurred_hour": "09",
        "occurred_minute": "15",
        "young_people.0.pseudonym": "YP-A1",
        "young_people.0.roles": ["discloser", "pictured"],
        "young_people.0.year_group": "9",
        **changed,
    }


def case_of(school: str, key: str) -> UUID:
    """The case intake would record under this key for this school (its id is the key's)."""
    return uuid5(NAMESPACE, f"incident:{school}:{key}")


@pytest.fixture
def staff(stack: Stack) -> Iterator[TestClient]:
    """A teacher at Oak, signed in."""
    with stack.signed_in("teacher@oak.example", Role.STAFF, OAK) as client:
        yield client


def send(client: TestClient, data: dict[str, Any], page: str | None = None) -> Any:
    form = page or client.get("/disclosures/new").text
    return client.post("/disclosures", data={**hidden_fields(form), **data}, follow_redirects=False)


def test_every_disclosure_route_and_role_has_its_words() -> None:
    assert set(ROUTE_WORDS) == set(DISCLOSURE_ROUTES)
    assert set(ROLE_WORDS) == set(ROLES)


def test_rows_left_empty_are_dropped_and_odd_numbers_refused_in_words() -> None:
    at = yesterday_at_nine()
    sent = FormData(
        [
            *((k, v) for k, v in answers("YP-A1 and YP-C3.").items() if isinstance(v, str)),
            ("young_people.0.roles", "discloser"),
            ("young_people.1.pseudonym", ""),
            ("young_people.2.pseudonym", "YP-C3"),
            ("young_people.2.roles", "recipient"),
            ("young_people.2.age", "9" * 5000),  # no number of 5,000 digits is an age
            ("young_people.99999999.pseudonym", "YP-Z9"),  # beyond the form's rows: unread
            ("rows", "9" * 5000),
        ]
    )
    filled = Filled.of(sent)
    assert len(filled.rows) == 3  # the rows sent; a count that is no count of rows is unread
    filled.without_blank_rows()
    assert [row.pseudonym for row in filled.rows] == ["YP-A1", "YP-C3"]
    disclosure, errors = checked(filled, [School(code="OAK", name="Oak")], LONDON)
    assert errors == {"young_people.1.age": "Age must be a number from 3 to 25"}
    assert disclosure["school"] == "OAK"
    assert disclosure["occurred_at"] == at.replace(tzinfo=None).isoformat(timespec="minutes")
    assert [p["pseudonym"] for p in disclosure["young_people"]] == ["YP-A1", "YP-C3"]


def test_staff_record_a_disclosure_and_see_its_reference(stack: Stack, staff: TestClient) -> None:
    page = staff.get("/disclosures/new")
    assert page.status_code == 200
    assert 'type="file"' not in page.text
    assert 'name="school"' not in page.text  # a teacher of one school is not asked
    for guidance in (
        "Do not view, copy, forward or delete the image",
        "Do not promise to keep it secret",
        "<strong>in person</strong> if the young person is at risk",
        "Never their name",
    ):
        assert guidance in page.text
    now = datetime.now(LONDON)
    assert f'name="occurred_year" type="text" value="{now.year}"' in page.text
    key = hidden_fields(page.text)["idempotency_key"]
    assert UUID(key)

    answer = send(staff, answers("YP-A1 says a photo she sent was shared in a chat."), page.text)
    assert answer.status_code == 303, answer.text
    receipt_url = answer.headers["location"]
    case_id = receipt_url.removeprefix("/disclosures/")
    assert UUID(case_id) == case_of("OAK", key)

    receipt = staff.get(receipt_url)
    assert receipt.status_code == 200
    shown = re.search(r'id="reference">([^<]+)<', receipt.text)
    assert shown is not None, receipt.text
    reference = shown.group(1)
    assert re.fullmatch(r"OAK-\d{4}-\d{4}", reference)
    assert "govuk-panel" in receipt.text
    assert "The DSL will take it from here" in receipt.text
    assert 'href="/disclosures/new"' in receipt.text

    case = stack.api("intake", "GET", f"/cases/{case_id}", Role.DSL, OAK).json()
    assert case["reference"] == reference
    assert case["recorded_by"] == "teacher@oak.example"
    assert case["disclosure_route"] == "young_person"
    assert case["summary"] == "YP-A1 says a photo she sent was shared in a chat."
    assert datetime.fromisoformat(case["occurred_at"]) == yesterday_at_nine()
    [person] = case["young_people"]
    assert person["pseudonym"] == "YP-A1"
    assert sorted(person["roles"]) == ["discloser", "pictured"]
    assert person["year_group"] == 9


def test_the_same_form_sent_twice_is_one_case(stack: Stack) -> None:
    with stack.signed_in("teacher@ash.example", Role.STAFF, ["ASH"]) as client:
        page = client.get("/disclosures/new").text
        filled = answers("YP-B2 says an image of them is going round.")
        first = send(client, filled, page)
        second = send(client, filled, page)
        assert first.status_code == second.status_code == 303
        assert first.headers["location"] == second.headers["location"]
        case_id = first.headers["location"].removeprefix("/disclosures/")

        def listed() -> list[str]:
            answer = stack.api("review", "GET", "/cases?school=ASH", Role.DSL, ["ASH"])
            return [c["case_id"] for c in answer.json()["cases"]]

        stack.wait_for(lambda: case_id in listed())
        assert listed() == [case_id]


def test_a_name_for_a_pseudonym_is_refused_naming_its_field(
    stack: Stack, staff: TestClient
) -> None:
    page = staff.get("/disclosures/new").text
    key = hidden_fields(page)["idempotency_key"]
    said = "YP-C3 told me about a picture."
    answer = send(staff, answers(said, **{"young_people.0.pseudonym": "Jane Smith"}), page)
    assert answer.status_code == 400
    summary = answer.text.split('class="govuk-error-summary"')[1].split("</ul>")[0]
    assert 'href="#young-people-0-pseudonym"' in summary
    assert "never a name" in summary
    assert 'id="young-people-0-pseudonym"' in answer.text  # the link has somewhere to go
    assert answer.text.count('class="govuk-error-message"') == 1
    assert "<title>Error: " in answer.text
    # Filled in again as it was sent, under the same key.
    assert hidden_fields(answer.text)["idempotency_key"] == key
    assert f">{said}</textarea>" in answer.text
    assert 'value="young_person" checked' in answer.text
    assert 'value="discloser" checked' in answer.text
    assert 'name="young_people.0.year_group" type="text" value="9"' in answer.text
    assert (
        stack.api("intake", "GET", f"/cases/{case_of('OAK', key)}", Role.DSL, OAK).status_code
        == 404
    )


def test_a_refusal_by_intake_is_shown_against_its_field(stack: Stack, staff: TestClient) -> None:
    page = staff.get("/disclosures/new").text
    key = hidden_fields(page)["idempotency_key"]
    answer = send(staff, answers("x" * 5001), page)  # intake's limit, not the page's
    assert answer.status_code == 400
    assert 'href="#summary"' in answer.text
    assert "5000 characters" in answer.text
    assert hidden_fields(answer.text)["idempotency_key"] == key
    assert (
        stack.api("intake", "GET", f"/cases/{case_of('OAK', key)}", Role.DSL, OAK).status_code
        == 404
    )


def test_an_image_pasted_as_what_was_said_is_refused_and_not_sent_back(
    staff: TestClient,
) -> None:
    pasted = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4"
    answer = send(staff, answers(pasted))
    assert answer.status_code == 400
    assert 'href="#summary"' in answer.text
    assert "iVBORw0KGgo" not in answer.text


def test_another_young_person_is_added_without_javascript(staff: TestClient) -> None:
    page = staff.get("/disclosures/new").text
    key = hidden_fields(page)["idempotency_key"]
    more = send(staff, {**answers("YP-D4 told me."), "add_young_person": "1"}, page)
    assert more.status_code == 200
    assert 'name="young_people.1.pseudonym"' in more.text
    new_row = re.search(r'<input[^>]*id="young-people-1-pseudonym"[^>]*>', more.text)
    assert new_row is not None
    assert "autofocus" in new_row.group(0)
    assert hidden_fields(more.text)["idempotency_key"] == key
    assert hidden_fields(more.text)["rows"] == "2"
    assert re.search(r'<div id="disclosure-errors">\s*</div>', more.text)  # nothing sent yet
    both = send(
        staff,
        answers(
            "YP-D4 told me YP-D5 forwarded it.",
            **{
                "young_people.0.pseudonym": "YP-D4",
                "young_people.1.pseudonym": "YP-D5",
                "young_people.1.roles": ["forwarder"],
                "young_people.1.age": "14",
                "rows": "2",
            },
        ),
        more.text,
    )
    assert both.status_code == 303, both.text
    receipt = staff.get(both.headers["location"]).text
    assert re.search(r"YP-D4, YP-D5|YP-D5, YP-D4", receipt)


def test_the_form_has_room_for_at_most_its_rows(staff: TestClient) -> None:
    page = staff.get("/disclosures/new").text
    full = send(staff, {"rows": str(MAX_ROWS), "add_young_person": "1"}, page)
    assert f'name="young_people.{MAX_ROWS - 1}.pseudonym"' in full.text
    assert f'name="young_people.{MAX_ROWS}.pseudonym"' not in full.text
    assert 'name="add_young_person"' not in full.text


def test_staff_see_only_their_own_schools(stack: Stack) -> None:
    with stack.signed_in("visiting@trust.example", Role.STAFF, ["OAK", "ELM"]) as both:
        page = both.get("/disclosures/new").text
        offered = re.findall(r'name="school" type="radio" value="([A-Z]+)"', page)
        assert offered == ["OAK", "ELM"]  # in the trust's order; never ASH
        elm = send(both, answers("YP-E5 spoke to me.", school="ELM"), page)
        assert elm.status_code == 303, elm.text
        not_asked = send(both, answers("YP-E6 spoke to me."))
        assert not_asked.status_code == 400
        assert 'href="#school"' in not_asked.text
    # Oak's teacher cannot read a receipt that is not theirs: it is as if there were no case.
    with stack.signed_in("teacher@oak.example", Role.STAFF, OAK) as staff:
        theirs = staff.get(elm.headers["location"])
        assert theirs.status_code == 404
        assert "YP-E5" not in theirs.text


def test_no_one_records_for_a_school_they_do_not_act_for(stack: Stack, staff: TestClient) -> None:
    page = staff.get("/disclosures/new").text
    key = hidden_fields(page)["idempotency_key"]
    answer = send(staff, answers("YP-F6 told me.", school="ELM"), page)
    assert answer.status_code == 400
    assert 'href="#school"' in answer.text
    # The script's way in refuses it the same way.
    token = staff.get("/disclosures/token").json()["csrf_token"]
    sent = staff.post(
        "/disclosures/send",
        data={
            **answers("YP-F6 told me.", school="ELM"),
            "idempotency_key": key,
            "csrf_token": token,
        },
    )
    assert sent.status_code == 400
    assert sent.json()["errors"][0]["href"] == "#school"
    assert (
        stack.api("intake", "GET", f"/cases/{case_of('ELM', key)}", Role.DSL, ["ELM"]).status_code
        == 404
    )


def test_the_script_sends_with_a_fresh_token_and_is_answered_in_json(
    stack: Stack, staff: TestClient
) -> None:
    nobody = stack.client()  # no lifespan of its own: staff's is running
    signed_out = nobody.get("/disclosures/token")
    assert signed_out.status_code == 401
    assert signed_out.json() == {"sign_in": "/sign-in?then=/disclosures/new"}
    # A kept form sent once the session has ended, with the token of the session that took
    # its place: the same answer, and nothing is recorded.
    token = csrf_of(nobody.get("/sign-in").text)
    answer = nobody.post("/disclosures/send", data={**answers("x"), "csrf_token": token})
    assert answer.status_code == 401
    session = staff.get("/disclosures/token").json()
    assert session["user"] == "teacher@oak.example"
    key = "6b0c1c3e-2f44-4d7e-9d0a-0a4e1f3b7c11"
    filled = {**answers("YP-G7 told me, kept while offline."), "idempotency_key": key}
    assert staff.post("/disclosures/send", data=filled).status_code == 403  # no token
    first = staff.post("/disclosures/send", data={**filled, "csrf_token": session["csrf_token"]})
    assert first.status_code == 201, first.text
    again = staff.post("/disclosures/send", data={**filled, "csrf_token": session["csrf_token"]})
    assert again.json() == first.json()
    assert first.json()["receipt"] == f"/disclosures/{case_of('OAK', key)}"
    case = stack.api(
        "intake", "GET", first.json()["receipt"].replace("/disclosures", "/cases"), Role.DSL, OAK
    )
    assert case.json()["reference"] == first.json()["reference"]
    refused = staff.post(
        "/disclosures/send",
        data={
            **answers("YP-G8", **{"young_people.0.pseudonym": "A Name"}),
            "csrf_token": session["csrf_token"],
        },
    )
    assert refused.status_code == 400
    assert refused.json()["errors"] == [
        {
            "text": "A pseudonym is 2 to 40 letters, numbers or hyphens with no spaces, such as "
            "YP-A1: never a name",
            "href": "#young-people-0-pseudonym",
        }
    ]


def test_the_service_worker_and_the_offline_form_hold_nothing_of_the_user(
    staff: TestClient,
) -> None:
    worker = staff.get("/sw.js")
    assert worker.status_code == 200
    assert worker.headers["content-type"].startswith("text/javascript")
    token = staff.get("/disclosures/token").json()["csrf_token"]
    offline = staff.get("/disclosures/offline")
    assert offline.status_code == 200
    assert 'id="disclosure-form"' in offline.text
    assert "teacher@oak.example" not in offline.text
    assert token not in offline.text
    assert 'name="csrf_token" value=""' in offline.text
    assert 'name="idempotency_key" value=""' in offline.text  # made by the script when filled
    assert 'data-offline="1"' in offline.text


def test_while_intake_is_away_the_form_comes_back_as_it_was_sent(stack: Stack) -> None:
    with stack.signed_in("teacher@oak.example", Role.STAFF, OAK) as staff:
        page = staff.get("/disclosures/new").text
        key = hidden_fields(page)["idempotency_key"]
        said = "YP-H8 told me at lunch."
        stack.services.stop("intake")
        try:
            answer = send(staff, answers(said), page)
            assert answer.status_code == 503
            assert "The disclosure is not recorded yet" in answer.text
            assert "Tell the DSL now, in person" in answer.text
            assert f">{said}</textarea>" in answer.text
            assert hidden_fields(answer.text)["idempotency_key"] == key
            # The script's way in says 503 too: the script keeps the form and sends it later.
            token = staff.get("/disclosures/token").json()["csrf_token"]
            sent = staff.post(
                "/disclosures/send",
                data={**answers(said), "idempotency_key": key, "csrf_token": token},
            )
            assert sent.status_code == 503
        finally:
            stack.services.start("intake")
        again = send(staff, answers(said), answer.text)  # the same form, sent again
        assert again.status_code == 303, again.text
        assert again.headers["location"] == f"/disclosures/{case_of('OAK', key)}"
