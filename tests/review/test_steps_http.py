"""Review over HTTP: steps 7 and 8 sent by the DSL and head, closure refused with every reason,
the case view now and as it stood, who read it, each school's list and the overdue actions."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shared.identity import Role
from tests.review.conftest import bearer, reviews_of
from tests.review.story import T0, Story, action, minutes

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
SUPPORT = {"pseudonym": "YP-1", "kind": "pastoral", "given_by": "Head of Year", "detail": "Daily"}
REVIEW = {
    "what_worked": "Invented: told within minutes",
    "what_did_not_work": "Invented: slow site",
    "procedure_changes": "Invented: none",
}


def a_case(client: TestClient, school: str = "OAK", number: int = 7) -> Story:
    story = Story(reviews_of(client), school=school, reference=f"{school}-2026-{number:04d}")
    story.disclosure(T0).assessed(
        T0 + minutes(2),
        action("police", "dsl_decides"),
        action("parents_or_carers"),
        action("senior_management", "required", 60, declinable=False),
    )
    return story


def post(client: TestClient, story: Story, path: str, body: dict[str, Any], **headers: str) -> Any:
    return client.post(
        f"/cases/{story.case_id}/{path}",
        json=body,
        headers={**bearer(client), **{k.replace("_", "-"): v for k, v in headers.items()}},
    )


def view(client: TestClient, story: Story, **params: str) -> Any:
    response = client.get(f"/cases/{story.case_id}", headers=bearer(client), params=params)
    assert response.status_code == 200, response.text
    return response


STEP_7 = [
    ("support", SUPPORT, "support"),
    (
        "staff-informed",
        {"staff": "Year 9 tutors", "what_and_why": "Invented: to watch for comments"},
        "staff_informed",
    ),
    (
        "parents-conversations",
        {"pseudonym": "YP-1", "with_whom": "mother", "how": "phone", "what_was_said": "x"},
        "parents_conversations",
    ),
    (
        "education-sessions",
        {"audience": "Year 9", "topic": "consent and sharing", "delivered_by": "local police"},
        "education_sessions",
    ),
    (
        "removal-help",
        {"pseudonym": "YP-1", "service": "ncmec_take_it_down", "status": "signposted"},
        "removal_help",
    ),
    ("site-removals", {"site": "Invented app", "status": "requested"}, "site_removals"),
]


@pytest.mark.parametrize(("path", "body", "field"), STEP_7, ids=[p for p, _, _ in STEP_7])
def test_each_step_7_entry_is_recorded_and_shown(
    client: TestClient, path: str, body: dict[str, Any], field: str
) -> None:
    story = a_case(client)
    recorded = post(client, story, path, body)
    assert recorded.status_code == 201, recorded.text
    entry = recorded.json()
    assert (entry["actor"], entry["actor_role"]) == ("dsl.test", "dsl")
    assert body.items() <= entry["facts"].items()  # and optional words left empty
    shown = view(client, story).json()
    assert [e["facts"] for e in shown["containment"][field]] == [entry["facts"]]
    assert shown["entries"][-1]["summary"] == entry["summary"]


def test_the_sites_removal_status_is_the_latest_recorded(client: TestClient) -> None:
    story = a_case(client)
    for status in ("requested", "pending", "removed"):
        assert post(client, story, "site-removals", {"site": "App", "status": status}).is_success
    post(client, story, "site-removals", {"site": "Other", "status": "refused"})
    status = view(client, story).json()["containment"]["site_removal_status"]
    assert status == {"App": "removed", "Other": "refused"}


def test_a_retry_with_the_same_key_is_the_same_entry(client: TestClient) -> None:
    story = a_case(client)
    first = post(client, story, "support", SUPPORT, idempotency_key="k-1")
    again = post(client, story, "support", SUPPORT, idempotency_key="k-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    other = post(client, story, "support", {**SUPPORT, "detail": "Weekly"}, idempotency_key="k-1")
    assert other.status_code == 422
    assert "Idempotency-Key" in other.json()["detail"]
    assert len(view(client, story).json()["containment"]["support"]) == 1


def test_a_stale_if_match_is_409_and_a_read_does_not_make_it_stale(client: TestClient) -> None:
    story = a_case(client)
    etag = view(client, story).headers["ETag"]
    # An auditor's read is recorded, and does not change the version.
    auditor = bearer(client, Role.AUDITOR, ("OAK",))
    assert client.get(f"/cases/{story.case_id}", headers=auditor).status_code == 200
    assert post(client, story, "support", SUPPORT, if_match=etag).status_code == 201
    # The consumer records a new message: the version read before it is stale.
    etag = view(client, story).headers["ETag"]
    story.dsl("dsl.other", T0 + minutes(30))
    stale = post(client, story, "support", SUPPORT, if_match=etag)
    assert stale.status_code == 409
    assert "read the case again" in stale.json()["detail"]
    assert post(client, story, "support", SUPPORT, if_match='"x"').status_code == 422


def test_who_may_send_and_for_which_school(client: TestClient) -> None:
    story = a_case(client)
    head = bearer(client, Role.HEAD)
    url = f"/cases/{story.case_id}/support"
    assert client.post(url, json=SUPPORT, headers=head).status_code == 201
    for role in (Role.AUDITOR, Role.STAFF):
        assert client.post(url, json=SUPPORT, headers=bearer(client, role)).status_code == 403
    elsewhere = bearer(client, Role.DSL, ("ELM",))
    assert client.post(url, json=SUPPORT, headers=elsewhere).status_code == 404
    nowhere = f"/cases/{Story().case_id}/support"
    assert client.post(nowhere, json=SUPPORT, headers=bearer(client)).status_code == 404


@pytest.mark.parametrize(
    "image",
    [
        "data:image/png;base64,iVBORw0KGgo=",
        base64.b64encode(PNG).decode(),
        "see https://example.invalid/leak.jpg",
    ],
    ids=["data URI", "base64", "link"],
)
def test_an_image_in_a_free_text_field_is_refused_and_not_repeated(
    client: TestClient, image: str
) -> None:
    story = a_case(client)
    refused = post(client, story, "support", {**SUPPORT, "detail": f"Invented {image}"})
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", "detail"]
    assert image not in refused.text
    assert view(client, story).json()["containment"]["support"] == []


def test_blank_words_and_a_future_time_are_refused(client: TestClient) -> None:
    story = a_case(client)
    blank = post(client, story, "reviews", {**REVIEW, "what_worked": "   "})
    assert blank.status_code == 422
    assert blank.json()["detail"][0]["loc"] == ["body", "what_worked"]
    future = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    late = post(client, story, "support", {**SUPPORT, "occurred_at": future})
    assert late.status_code == 422
    assert late.json()["detail"][0]["loc"] == ["body", "occurred_at"]


def test_closing_is_refused_with_every_reason_then_closes_and_reopens(
    client: TestClient,
) -> None:
    story = a_case(client)
    refused = post(client, story, "closure", {})
    assert refused.status_code == 422
    assert [r["rule"] for r in refused.json()["detail"]["reasons"]] == [
        "required_action_open",
        "parents_neither_told_nor_reason_recorded",
        "not_referring_without_written_reasons",
        "no_review_recorded",
    ]
    story.done("senior_management", T0 + minutes(10))
    story.declined("parents_or_carers", T0 + minutes(11))
    story.declined("police", T0 + minutes(12), reason="Invented: experimental, low risk")
    assert post(client, story, "reviews", REVIEW).status_code == 201
    closed = post(client, story, "closure", {"note": "Invented"}, idempotency_key="c-1")
    assert closed.status_code == 201, closed.text
    assert (
        post(client, story, "closure", {"note": "Invented"}, idempotency_key="c-1").status_code
        == 200
    )
    shown = view(client, story).json()
    assert (shown["status"], shown["open_actions"]) == ("closed", [])
    assert shown["parents"]["status"] == "not_told"

    no_reason = post(client, story, "reopening", {"reason": " "})
    assert no_reason.status_code == 422
    assert no_reason.json()["detail"][0]["loc"] == ["body", "reason"]
    assert (
        post(client, story, "reopening", {"reason": "Invented: it resurfaced"}).status_code == 201
    )
    again = post(client, story, "reopening", {"reason": "Invented"})
    assert [r["rule"] for r in again.json()["detail"]["reasons"]] == ["not_closed"]
    shown = view(client, story).json()
    assert shown["status"] == "reopened"
    assert [c["kind"] for c in shown["review"]["closures"]] == ["case_closed", "case_reopened"]


def test_the_case_view_as_it_stood_and_who_read_it(client: TestClient) -> None:
    story = a_case(client)
    story.dsl("dsl.oak", T0 + minutes(30))
    dsl = bearer(client, Role.DSL, user="dsl.oak")
    auditor = bearer(client, Role.AUDITOR, ("*",), user="auditor.trust")
    now = client.get(f"/cases/{story.case_id}", headers=dsl)
    then = client.get(
        f"/cases/{story.case_id}",
        headers=auditor,
        params={"as_of": (T0 + minutes(1)).isoformat()},
    )
    assert now.status_code == then.status_code == 200
    assert "ETag" in now.headers
    assert "ETag" not in then.headers
    assert [e["kind"] for e in then.json()["entries"]] == ["disclosure_recorded"]
    assert (then.json()["dsl"], then.json()["classification"]) == ("", "undetermined")
    assert now.json()["dsl"] == "dsl.oak"
    assert now.json()["review"]["review_date"] == "2027-01-05"
    # The actions as they stand, with their deadlines.
    police = next(a for a in now.json()["actions"] if a["action"] == "police")
    assert (police["level"], police["status"]) == ("dsl_decides", "open")
    assert "senior_management" in now.json()["overdue_actions"]

    reads = client.get(f"/cases/{story.case_id}/chronology", headers=dsl).json()["entries"]
    case_reads = [e for e in reads if e["kind"] == "case_read"]
    assert [(e["actor"], e["actor_role"]) for e in case_reads] == [
        ("dsl.oak", "dsl"),
        ("auditor.trust", "auditor"),
        ("dsl.oak", "dsl"),
    ]
    assert "as it stood at" in case_reads[1]["summary"]
    shown = client.get(f"/cases/{story.case_id}", headers=dsl).json()
    assert [(r["user"], r["role"], r["what"]) for r in shown["reads"]] == [
        ("dsl.oak", "dsl", "case_view"),
        ("auditor.trust", "auditor", "case_view"),
        ("dsl.oak", "dsl", "chronology"),
        ("dsl.oak", "dsl", "case_view"),
    ]
    assert "case_read" not in [e["kind"] for e in shown["entries"]]
    # The chronology as it stood: before any read.
    old = client.get(
        f"/cases/{story.case_id}/chronology",
        headers=auditor,
        params={"as_of": (T0 + minutes(5)).isoformat()},
    ).json()["entries"]
    assert [e["kind"] for e in old] == ["disclosure_recorded", "assessment_recorded"]
    assert old[1]["policy_version"] == "uk-2024.2"
    assert reviews_of(client).verify(story.case_id) is None


def test_a_school_list_shows_only_that_schools_cases(client: TestClient) -> None:
    oak = a_case(client)
    a_case(client, school="ELM", number=1)
    reviews_of(client).clock = lambda: T0 + minutes(90)
    listed = client.get("/cases", params={"school": "OAK"}, headers=bearer(client))
    assert listed.status_code == 200
    assert [
        (c["reference"], c["status"], c["open_actions"], c["overdue_actions"])
        for c in listed.json()["cases"]
    ] == [("OAK-2026-0007", "open", 3, 1)]
    assert listed.json()["cases"][0]["case_id"] == str(oak.case_id)
    elm_dsl = bearer(client, Role.DSL, ("ELM",))
    elsewhere = client.get("/cases", params={"school": "OAK"}, headers=elm_dsl)
    assert (elsewhere.status_code, elsewhere.json()) == (404, {"detail": "no such school for you"})
    trust_lead = bearer(client, Role.TRUST_LEAD, ("*",))
    elm = client.get("/cases", params={"school": "ELM"}, headers=trust_lead).json()["cases"]
    assert [c["reference"] for c in elm] == ["ELM-2026-0001"]
    auditor_of_oak = bearer(client, Role.AUDITOR, ("OAK",))
    assert client.get("/cases", params={"school": "ELM"}, headers=auditor_of_oak).status_code == 404
    # A list is not a read of each case: nothing is added to their chronologies.
    assert reviews_of(client).case_view(oak.case_id).reads == []


def test_without_a_school_the_list_is_of_every_school_of_the_token(client: TestClient) -> None:
    a_case(client)
    a_case(client, school="ELM", number=1)

    def listed(headers: dict[str, str]) -> tuple[list[str], list[tuple[str, str]]]:
        response = client.get("/cases", headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["school"] is None
        return body["schools"], [(c["school"], c["reference"]) for c in body["cases"]]

    assert listed(bearer(client)) == (["OAK"], [("OAK", "OAK-2026-0007")])
    both = [("ELM", "ELM-2026-0001"), ("OAK", "OAK-2026-0007")]
    assert listed(bearer(client, Role.AUDITOR, ("ELM", "OAK"))) == (["ELM", "OAK"], both)
    # A trust-wide token: every school of the trust, those without a case too.
    assert listed(bearer(client, Role.TRUST_LEAD, ("*",))) == (["ASH", "ELM", "OAK"], both)
    # A school the trust does not have is no school, even for a trust-wide token.
    missing = client.get(
        "/cases", params={"school": "YEW"}, headers=bearer(client, Role.TRUST_LEAD, ("*",))
    )
    assert (missing.status_code, missing.json()) == (404, {"detail": "no such school for you"})


def test_overdue_for_a_school_and_across_the_trust_move_with_the_clock(
    client: TestClient,
) -> None:
    a_case(client)
    a_case(client, school="ELM", number=1)
    reviews = reviews_of(client)
    trust_lead = bearer(client, Role.TRUST_LEAD, ("*",))

    def overdue(headers: dict[str, str], **params: str) -> list[tuple[str, str]]:
        response = client.get("/overdue", headers=headers, params=params)
        assert response.status_code == 200, response.text
        return [(o["reference"], o["action"]) for o in response.json()["overdue"]]

    reviews.clock = lambda: T0 + minutes(61)
    assert overdue(trust_lead) == []
    reviews.clock = lambda: T0 + minutes(63)
    # The longest overdue first; as long, by school.
    assert overdue(trust_lead) == [
        ("ELM-2026-0001", "senior_management"),
        ("OAK-2026-0007", "senior_management"),
    ]
    assert overdue(trust_lead, school="ELM") == [("ELM-2026-0001", "senior_management")]
    assert overdue(bearer(client)) == [("OAK-2026-0007", "senior_management")]
    elsewhere = client.get("/overdue", params={"school": "ELM"}, headers=bearer(client))
    assert (elsewhere.status_code, elsewhere.json()) == (404, {"detail": "no such school for you"})
    reviews.clock = lambda: T0 + minutes(2 + 24 * 60 + 1)
    assert len(overdue(trust_lead)) == 6


def test_as_of_and_entries_without_a_zone_are_read_in_the_trusts(client: TestClient) -> None:
    story = a_case(client)
    story.dsl("dsl.oak", T0 + minutes(30))
    # T0 is in November: London's wall clock is UTC.
    for path in ("", "/chronology", "/export.json", "/export.pdf"):
        then = client.get(
            f"/cases/{story.case_id}{path}",
            headers=bearer(client),
            params={"as_of": "2026-11-24T09:01"},
        )
        assert then.status_code == 200, (path, then.text)
        assert then.headers["Safeguard-Time-Zone-Assumed"] == "as_of read as Europe/London", path
    shown = view(client, story, as_of="2026-11-24T09:01").json()
    assert [e["kind"] for e in shown["entries"]] == ["disclosure_recorded"]
    assert shown["as_of"] == "2026-11-24T09:01:00Z"
    recorded = post(client, story, "support", {**SUPPORT, "occurred_at": "2025-07-15T10:00"})
    assert recorded.status_code == 201, recorded.text
    assert recorded.headers["Safeguard-Time-Zone-Assumed"] == "occurred_at read as Europe/London"
    assert recorded.json()["occurred_at"] == "2025-07-15T10:00:00+01:00"


def test_as_of_before_the_case_existed_is_404_saying_so(client: TestClient) -> None:
    story = a_case(client)
    before = (T0 - minutes(1)).isoformat()
    for path in ("", "/chronology", "/export.json", "/export.pdf"):
        url = f"/cases/{story.case_id}{path}"
        response = client.get(url, headers=bearer(client), params={"as_of": before})
        assert response.status_code == 404, path
        assert response.json() == {
            "detail": "the case did not exist yet at 2026-11-24T08:59:00+00:00"
        }, path
        # Another school's case stays 'no such case', whatever the time.
        elsewhere = bearer(client, Role.DSL, ("ELM",))
        hidden = client.get(url, headers=elsewhere, params={"as_of": before})
        assert hidden.json() == {"detail": "no such case"}, path
    # Nothing was shown, so nothing was read.
    assert reviews_of(client).case_view(story.case_id).reads == []
    assert (
        client.get(
            f"/cases/{story.case_id}", params={"as_of": T0.isoformat()}, headers=bearer(client)
        ).status_code
        == 200
    )
