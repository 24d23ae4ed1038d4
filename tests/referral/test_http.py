"""Referral over HTTP: the DSL reads what the policy requires and by when, and records each
decision, with the same conventions as intake (422 naming the rule, 404, 409, retries)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.persistence import Tracking
from fastapi.testclient import TestClient

from services.referral.application import Referrals
from services.referral.entrypoint import create_app
from shared.contracts.intake import TriageRecordedV1, YoungPersonRecordedV1
from shared.identity import Role
from tests.conftest import StoreChoice
from tests.helpers import incident_reported
from tests.shared.test_imagery import solid_png

GOLDEN = Path(__file__).parent.parent / "contracts" / "golden"
TRIAGE = json.loads((GOLDEN / "intake.triage.recorded.v1.json").read_text())
PERSON = json.loads((GOLDEN / "intake.young_person.recorded.v1.json").read_text())
DSL = ("dsl.oak", Role.DSL)
STAFF = ("staff.a", Role.STAFF)
AUDITOR = ("auditor.a", Role.AUDITOR)
RISK = {
    "factors": {
        "willing_or_coerced": "willing",
        "spread_beyond_intended_recipient": "no",
        "public_platform": "no",
        "several_recipients": "no",
        "age_gap_years": 1,
        "vulnerabilities": "no",
        "earlier_incidents": "no",
        "intent_to_harm": "no",
        "without_consent": "no",
        "experimental_context": "romantic",
    },
    "conclusion": "low",
    "reasons": "Invented: a consensual exchange between two Year 10s",
}


@pytest.fixture
def client(store: StoreChoice) -> Iterator[TestClient]:
    with TestClient(create_app(store.settings())) as c:
        yield c


def bearer(client: TestClient, who: tuple[str, Role], school: str = "OAK") -> dict[str, str]:
    user, role = who
    return {"Authorization": f"Bearer {client.app.state.tokens.issue(user, role, [school])}"}  # type: ignore[attr-defined]


def new_case(client: TestClient, **triage: Any) -> str:
    """A case as intake publishes it: the disclosure, a young person and a triage."""
    app = client.app.state.runtime.app  # type: ignore[attr-defined]
    assert isinstance(app, Referrals)
    disclosure = incident_reported(case_id=uuid4())
    case_id = disclosure.case_id  # type: ignore[attr-defined]
    start = app.recorder.max_tracking_id("intake") or 0
    contracts = [
        disclosure,
        YoungPersonRecordedV1.model_validate({**PERSON, "case_id": case_id, "pseudonym": "YP-1"}),
        TriageRecordedV1.model_validate(
            {
                **TRIAGE,
                "case_id": case_id,
                "adult_involvement": "no",
                "coercion_blackmail_or_grooming": "no",
                "capacity_to_consent_concerns": "no",
                "acts_unusual_or_violent": "no",
                "pictured_under_13": "no",
                "immediate_risk_of_harm": "no",
                "financially_motivated_extortion": "no",
                **triage,
            }
        ),
    ]
    for position, contract in enumerate(contracts, start=start + 1):
        app.process_event(contract, Tracking("intake", position))  # type: ignore[arg-type]
    return str(case_id)


def post(client: TestClient, case_id: str, path: str, body: dict[str, Any], **headers: str) -> Any:
    return client.post(
        f"/cases/{case_id}/{path}",
        json=body,
        headers={**bearer(client, DSL), **{k.replace("_", "-"): v for k, v in headers.items()}},
    )


def test_the_dsl_reads_what_is_required_and_by_when(client: TestClient) -> None:
    case_id = new_case(client, adult_involvement="suspected")
    read = client.get(f"/cases/{case_id}", headers=bearer(client, DSL))
    assert read.status_code == 200
    case = read.json()
    assert (case["classification"], case["subtype"]) == ("aggravated", "adult_involved")
    police = next(a for a in case["actions"] if a["action"] == "police")
    assert (police["level"], police["declinable"], police["status"]) == ("required", False, "open")
    criterion_1 = next(c for c in case["criteria"] if c["number"] == 1)
    assert (criterion_1["status"], criterion_1["decided_by"]) == ("met", ["adult_involvement"])
    assert case["policy_version"] == "uk-2024.3"
    assert case["computed_classification_reason"].startswith("adult_involvement is suspected")
    assessments = client.get(f"/cases/{case_id}/assessments", headers=bearer(client, DSL)).json()
    latest = assessments["assessments"][-1]
    assert latest["classification_reason"] == case["computed_classification_reason"]
    assert read.headers["ETag"]
    assert client.get(f"/cases/{case_id}", headers=bearer(client, AUDITOR)).status_code == 200
    assert client.get(f"/cases/{case_id}", headers=bearer(client, STAFF)).status_code == 403
    other_school = bearer(client, DSL, school="ELM")
    assert client.get(f"/cases/{case_id}", headers=other_school).status_code == 404


def test_a_required_police_referral_is_done_not_declined(client: TestClient) -> None:
    case_id = new_case(client, adult_involvement="yes")
    declined = post(client, case_id, "actions/declined", {"action": "police", "reason": "Invented"})
    assert declined.status_code == 422
    assert "police cannot be declined" in declined.json()["detail"]
    done = post(
        client,
        case_id,
        "actions/completed",
        {"action": "police", "how": "phone", "whom": "Invented PC", "their_reference": "INV-9"},
        Idempotency_Key="c1",
    )
    assert done.status_code == 201
    again = post(
        client,
        case_id,
        "actions/completed",
        {"action": "police", "how": "phone", "whom": "Invented PC", "their_reference": "INV-9"},
        Idempotency_Key="c1",
    )
    assert again.status_code == 200
    police = next(
        a
        for a in client.get(f"/cases/{case_id}", headers=bearer(client, DSL)).json()["actions"]
        if a["action"] == "police"
    )
    assert (police["status"], police["decision"]["their_reference"]) == ("done", "INV-9")


def test_not_referring_an_experimental_case_needs_written_reasons(client: TestClient) -> None:
    case_id = new_case(client)
    assessed = post(client, case_id, "risk-assessments", RISK)
    assert assessed.status_code == 201
    case = client.get(f"/cases/{case_id}", headers=bearer(client, DSL)).json()
    assert (case["classification"], case["subtype"]) == ("experimental", "romantic")
    without = post(client, case_id, "actions/declined", {"action": "police", "reason": " "})
    assert without.status_code == 422
    assert without.json()["detail"][0]["loc"] == ["body", "reason"]
    with_reasons = post(
        client,
        case_id,
        "actions/declined",
        {"action": "police", "reason": "Invented: consensual, contained, parents told"},
    )
    assert with_reasons.status_code == 201


def test_the_classification_override_stands_beside_the_computed_one(client: TestClient) -> None:
    case_id = new_case(client)
    overridden = post(
        client,
        case_id,
        "classification-overrides",
        {"classification": "aggravated", "subtype": "youth_intent_to_harm", "reason": "Invented"},
    )
    assert overridden.status_code == 201
    case = client.get(f"/cases/{case_id}", headers=bearer(client, DSL)).json()
    assert (case["classification"], case["computed_classification"]) == (
        "aggravated",
        "undetermined",
    )


def test_a_decision_on_a_stale_read_is_409(client: TestClient) -> None:
    case_id = new_case(client)
    etag = client.get(f"/cases/{case_id}", headers=bearer(client, DSL)).headers["ETag"]
    post(client, case_id, "safeguards", {"pseudonym": "YP-1", "kind": "support", "detail": "x"})
    stale = post(
        client,
        case_id,
        "safeguards",
        {"pseudonym": "YP-1", "kind": "counselling", "detail": "Invented"},
        If_Match=etag,
    )
    assert stale.status_code == 409
    assert f"GET /cases/{case_id}" in stale.json()["detail"]


def test_the_police_outcome_keeps_its_code_as_given(client: TestClient) -> None:
    case_id = new_case(client)
    recorded = post(
        client,
        case_id,
        "police-outcomes",
        {"code": "21", "outcome_date": "2026-12-01", "police_reference": "INV-9"},
    )
    assert recorded.status_code == 201
    assert recorded.json()["outcome_date"] == "2026-12-01"
    unknown_young_person = post(
        client, case_id, "safeguards", {"pseudonym": "YP-7", "kind": "support", "detail": "x"}
    )
    assert unknown_young_person.status_code == 422


def test_an_image_in_a_reason_is_refused_unrepeated(client: TestClient) -> None:
    case_id = new_case(client)
    encoded = base64.b64encode(solid_png()).decode()
    data_uri = f"data:image/png;base64,{encoded}"
    refused = post(client, case_id, "actions/declined", {"action": "ceop", "reason": data_uri})
    assert refused.status_code == 422
    assert encoded[:16] not in refused.text


def test_overdue_actions_are_listed_for_the_school_and_the_trust(client: TestClient) -> None:
    from datetime import UTC, datetime, timedelta

    app = client.app.state.runtime.app  # type: ignore[attr-defined]
    case_id = new_case(client, adult_involvement="yes")
    app.clock = lambda: datetime.now(UTC) + timedelta(hours=2)  # police was due within the hour
    overdue = client.get("/overdue", params={"school": "OAK"}, headers=bearer(client, DSL))
    assert overdue.status_code == 200
    police = [o for o in overdue.json() if o["case_id"] == case_id and o["action"] == "police"]
    assert len(police) == 1
    trust_lead = ("lead.trust", Role.TRUST_LEAD)
    trust_wide = bearer(client, trust_lead, school="*")
    assert any(o["case_id"] == case_id for o in client.get("/overdue", headers=trust_wide).json())
    # Without ?school=, a DSL's list is their own school's: never another's, never a 403.
    own = client.get("/overdue", headers=bearer(client, DSL))
    assert own.status_code == 200
    # (Escalations may be recorded in between: compare what is overdue.)
    assert [(o["case_id"], o["action"]) for o in own.json()] == [
        (o["case_id"], o["action"]) for o in overdue.json()
    ]
    elm = client.get("/overdue", headers=bearer(client, ("dsl.elm", Role.DSL), school="ELM"))
    assert (elm.status_code, elm.json()) == (200, [])
    other = client.get("/overdue", params={"school": "ELM"}, headers=bearer(client, DSL))
    assert (other.status_code, other.json()) == (404, {"detail": "no such school for you"})
    assert client.get("/overdue", headers=bearer(client, STAFF)).status_code == 403


def test_a_decision_timed_without_a_zone_is_read_in_the_trusts(client: TestClient) -> None:
    case_id = new_case(client)
    override = {"classification": "experimental", "subtype": "romantic", "reason": "Invented"}
    recorded = post(
        client, case_id, "classification-overrides", {**override, "occurred_at": "2025-07-15T10:00"}
    )
    assert recorded.status_code == 201, recorded.text
    assert recorded.headers["Safeguard-Time-Zone-Assumed"] == "occurred_at read as Europe/London"
    assert recorded.json()["occurred_at"] == "2025-07-15T10:00:00+01:00"


def test_a_risk_assessment_names_what_it_refuses_and_drops_nothing(client: TestClient) -> None:
    case_id = new_case(client)
    unknown = {**RISK, "factors": {**RISK["factors"], "invented_factor": "yes"}}
    refused = post(client, case_id, "risk-assessments", unknown)
    assert refused.status_code == 422
    assert "invented_factor" in refused.text
    blank = post(client, case_id, "risk-assessments", {**RISK, "reasons": " "})
    assert blank.status_code == 422
    assert blank.json()["detail"][0]["loc"][-1] == "reasons", blank.text
    assert post(client, case_id, "risk-assessments", RISK).status_code == 201
