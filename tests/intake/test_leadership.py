"""Step 4: the DSL and senior management told, the DSL who takes the case."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from eventsourcing.persistence import Tracking
from fastapi.testclient import TestClient

from services.intake.adapters.contracts import to_contract
from services.intake.application import Intake
from services.intake.domain import (
    DslAssigned,
    IntakeError,
    LeadershipInformed,
    NeedsReasonError,
    TriageRecorded,
)
from services.intake.domain.who_deals import ImmediateActionError
from services.intake.entrypoint import create_app
from services.review.application import Reviews
from shared.identity import Role
from tests.conftest import StoreChoice
from tests.intake.entries import record

DISCLOSED = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
NOW = DISCLOSED + timedelta(hours=1)


def case(app: Intake):  # type: ignore[no-untyped-def]
    incident, _ = app.report_incident(
        school="OAK",
        disclosure_route="young_person",
        summary="Invented",
        recorded_by="staff.a",
        recorded_by_role="staff",
        occurred_at=DISCLOSED,
    )
    return incident


def inform(app: Intake, case_id, **kw):  # type: ignore[no-untyped-def]
    values = {"audience": "dsl", "person": "dsl.oak", "how": "phone", "reason": ""}
    values.update(kw)
    return record(app, case_id, LeadershipInformed, **values)


def assign(  # type: ignore[no-untyped-def]
    app: Intake, case_id, dsl: str, reason: str = "", by: tuple[str, str] = ("dsl.oak", "dsl")
):
    user, role = by
    return record(
        app, case_id, DslAssigned, recorded_by=user, recorded_by_role=role, dsl=dsl, reason=reason
    )


def test_the_minutes_from_disclosure_are_recorded() -> None:
    app = Intake(clock=lambda: NOW)
    incident = case(app)
    dsl, _ = inform(app, incident.id, occurred_at=DISCLOSED + timedelta(minutes=12))
    slt, _ = inform(
        app,
        incident.id,
        audience="senior_management",
        person="head.oak",
        how="written",
        occurred_at=DISCLOSED + timedelta(minutes=45),
    )
    assert (dsl.minutes_after_disclosure, slt.minutes_after_disclosure) == (12, 45)
    assert [e.audience for e in app.get_incident(incident.id).informed] == [
        "dsl",
        "senior_management",
    ]


@pytest.mark.parametrize("urgent", ["immediate_support_needed", "immediate_risk_of_harm"])
def test_where_immediate_action_is_needed_the_dsl_is_told_in_person(urgent: str) -> None:
    app = Intake(clock=lambda: NOW)
    incident = case(app)
    record(app, incident.id, TriageRecorded, **{urgent: "yes"})
    with pytest.raises(ImmediateActionError, match=f"{urgent} is yes"):
        inform(app, incident.id, how="phone")
    entry, _ = inform(app, incident.id, how="in_person")
    assert entry.how == "in_person"
    inform(app, incident.id, audience="senior_management", how="written")  # rule is the DSL's


def test_an_idempotency_key_belongs_to_the_user_who_sent_it() -> None:
    app = Intake(clock=lambda: NOW)
    incident = case(app)
    first, recorded = inform(app, incident.id, idempotency_key="k")
    again, recorded_again = inform(app, incident.id, idempotency_key="k")
    other, recorded_other = inform(
        app, incident.id, idempotency_key="k", recorded_by="staff.b", how="in_person"
    )
    assert (recorded, recorded_again, recorded_other) == (True, False, True)
    assert again == first
    assert (other.recorded_by, other.how) == ("staff.b", "in_person")
    assert len(app.get_incident(incident.id).informed) == 2


def test_no_one_is_told_before_the_disclosure() -> None:
    app = Intake(clock=lambda: NOW)
    incident = case(app)
    with pytest.raises(IntakeError, match="before the disclosure"):
        inform(app, incident.id, occurred_at=DISCLOSED - timedelta(minutes=1))


def test_the_dsl_takes_the_case_and_a_handover_needs_a_reason() -> None:
    app = Intake(clock=lambda: NOW)
    incident = case(app)
    taken, _ = assign(app, incident.id, "dsl.oak")
    version = app.get_incident(incident.id).version
    again, created = assign(app, incident.id, "dsl.oak")  # a retry: nothing new
    assert (again, created) == (taken, False)
    assert app.get_incident(incident.id).version == version
    with pytest.raises(NeedsReasonError):
        assign(app, incident.id, "deputy.oak", by=("head.oak", "head"))
    assign(app, incident.id, "deputy.oak", "Invented: DSL on leave", by=("head.oak", "head"))
    assert app.get_incident(incident.id).dsl == "deputy.oak"


def test_published_and_shown_in_the_chronology() -> None:
    app = Intake(clock=lambda: NOW)
    incident = case(app)
    inform(app, incident.id, occurred_at=DISCLOSED + timedelta(minutes=12), how="in_person")
    assign(app, incident.id, "dsl.oak")
    reviews = Reviews()
    kinds = (LeadershipInformed, DslAssigned)
    events = [e for e in app.repository.event_store.get(incident.id) if isinstance(e, kinds)]
    for position, event in enumerate(events, start=1):
        reviews.process_event(to_contract(event), Tracking("intake", position))
    entries = reviews.get_case(incident.id).chronology()
    assert [e.summary for e in entries] == [
        "DSL told (dsl.oak, in person), 12 min after the disclosure",
        "dsl.oak takes the case",
    ]


@pytest.fixture
def client(store: StoreChoice) -> Iterator[TestClient]:
    app = create_app(store.settings())
    with TestClient(app) as c:
        yield c


def bearer(client: TestClient, user: str, role: Role) -> dict[str, str]:
    token = client.app.state.tokens.issue(user, role, ["OAK"])  # type: ignore[attr-defined]
    return {"Authorization": f"Bearer {token}"}


def test_step_4_over_http(client: TestClient) -> None:
    staff = bearer(client, "staff.a", Role.STAFF)
    dsl = bearer(client, "dsl.oak", Role.DSL)
    case_id = client.post(
        "/cases",
        json={"school": "OAK", "disclosure_route": "peer", "summary": "Invented"},
        headers=staff,
    ).json()["case_id"]
    client.post(f"/cases/{case_id}/triage", json={"immediate_risk_of_harm": "yes"}, headers=staff)
    by_phone = client.post(
        f"/cases/{case_id}/informed",
        json={"audience": "dsl", "person": "dsl.oak", "how": "phone"},
        headers=staff,
    )
    assert by_phone.status_code == 422
    assert "in person" in by_phone.json()["detail"]
    told = client.post(
        f"/cases/{case_id}/informed",
        json={"audience": "dsl", "person": "dsl.oak", "how": "in_person"},
        headers={**staff, "Idempotency-Key": "i1"},
    )
    assert told.status_code == 201
    again = client.post(
        f"/cases/{case_id}/informed",
        json={"audience": "dsl", "person": "dsl.oak", "how": "in_person"},
        headers={**staff, "Idempotency-Key": "i1"},
    )
    assert again.status_code == 200
    assert len(client.get(f"/cases/{case_id}/informed", headers=dsl).json()) == 1
    assert (
        client.post(f"/cases/{case_id}/dsl", json={"dsl": "dsl.oak"}, headers=staff).status_code
        == 403
    )
    assigned = client.post(f"/cases/{case_id}/dsl", json={"dsl": "dsl.oak"}, headers=dsl)
    assert assigned.json()["dsl"] == "dsl.oak"
    assert client.get(f"/cases/{case_id}", headers=dsl).json()["dsl"] == "dsl.oak"
