"""Step 1 triage: every question answered or unknown, corrections that keep the history."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from services.intake.adapters.contracts import to_contract
from services.intake.application import CaseChangedError, IdempotencyKeyReusedError, Intake
from services.intake.domain import (
    ASKED_AS_ONE,
    TRIAGE_ANSWERS,
    NeedsReasonError,
    TriageRecorded,
)
from services.intake.entrypoint import create_app
from shared.contracts.intake import TriageRecordedV1, TriageRecordedV2
from shared.entries import EntryError
from shared.identity import Role
from tests.conftest import StoreChoice
from tests.intake.entries import record

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def new_case(app: Intake):  # type: ignore[no-untyped-def]
    incident, _ = app.report_incident(
        school="OAK",
        disclosure_route="young_person",
        summary="Invented",
        recorded_by="staff.a",
        recorded_by_role="staff",
    )
    return incident


def triage(app: Intake, case_id, **kw):  # type: ignore[no-untyped-def]
    values = {"image_locations": [], "reason": "", **kw.pop("answers", {})}
    values.update(kw)
    return record(
        app, case_id, TriageRecorded, recorded_by="dsl.a", recorded_by_role="dsl", **values
    )


def test_questions_not_answered_are_recorded_as_unknown() -> None:
    app = Intake(clock=lambda: NOW)
    case = new_case(app)
    entry, created = triage(app, case.id, answers={"adult_involvement": "suspected"})
    assert created
    assert entry.number == 1
    assert entry.answers["adult_involvement"] == "suspected"
    assert set(entry.answers) == set(TRIAGE_ANSWERS)
    assert entry.answers["disclosing_about"] == ["unknown"]
    assert sum(v != "unknown" and v != ["unknown"] for v in entry.answers.values()) == 1


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"adult_involvement": "maybe"}, "adult_involvement"),
        ({"colour_of_phone": "red"}, "colour_of_phone: not a field"),
        ({"disclosing_about": ["sending", "unknown"]}, "unknown cannot stand"),
        ({"disclosing_about": []}, "disclosing_about"),
    ],
)
def test_answers_outside_the_questions_are_refused(
    answers: dict[str, object], message: str
) -> None:
    app = Intake()
    case = new_case(app)
    with pytest.raises(EntryError, match=message):
        triage(app, case.id, answers=answers)
    assert app.get_incident(case.id).triage == []


def test_a_correction_needs_its_reason_and_keeps_the_first_entry() -> None:
    app = Intake(clock=lambda: NOW)
    case = new_case(app)
    triage(app, case.id, answers={"how_widely_shared": "one_recipient"})
    with pytest.raises(NeedsReasonError):
        triage(app, case.id, answers={"how_widely_shared": "widely"})
    second, _ = triage(
        app, case.id, answers={"how_widely_shared": "widely"}, reason="Invented: more found out"
    )
    history = app.get_incident(case.id).triage
    assert [e.answers["how_widely_shared"] for e in history] == ["one_recipient", "widely"]
    assert second.number == 2
    assert history[1].reason == "Invented: more found out"


def test_written_up_later_keeps_both_times() -> None:
    app = Intake(clock=lambda: NOW)
    case = new_case(app)
    entry, _ = triage(app, case.id, occurred_at=NOW - timedelta(hours=3))
    assert entry.occurred_at == NOW - timedelta(hours=3)
    assert entry.recorded_at == NOW


def test_a_retry_with_its_key_records_nothing_twice() -> None:
    app = Intake()
    case = new_case(app)
    first, created = triage(app, case.id, answers={"pictured_under_13": "no"}, idempotency_key="t1")
    again, created_again = triage(
        app, case.id, answers={"pictured_under_13": "no"}, idempotency_key="t1"
    )
    assert (created, created_again) == (True, False)
    assert again == first
    assert len(app.get_incident(case.id).triage) == 1
    with pytest.raises(IdempotencyKeyReusedError):
        triage(app, case.id, answers={"pictured_under_13": "yes"}, idempotency_key="t1")


def test_a_change_based_on_an_old_read_is_refused() -> None:
    app = Intake()
    case = new_case(app)
    read_version = app.get_incident(case.id).version
    triage(app, case.id, expected_version=read_version)
    with pytest.raises(CaseChangedError):
        triage(app, case.id, reason="Invented", expected_version=read_version)
    assert len(app.get_incident(case.id).triage) == 1


@pytest.fixture
def client(store: StoreChoice) -> Iterator[TestClient]:
    app = create_app(store.settings())
    with TestClient(app) as c:
        yield c


def bearer(client: TestClient, user: str, role: Role) -> dict[str, str]:
    token = client.app.state.tokens.issue(user, role, ["OAK"])  # type: ignore[attr-defined]
    return {"Authorization": f"Bearer {token}"}


def test_triage_over_http(client: TestClient) -> None:
    staff = bearer(client, "staff.a", Role.STAFF)
    dsl = bearer(client, "dsl.a", Role.DSL)
    case_id = client.post(
        "/cases",
        json={"school": "OAK", "disclosure_route": "peer", "summary": "Invented"},
        headers=staff,
    ).json()["case_id"]
    etag = client.get(f"/cases/{case_id}", headers=dsl).headers["ETag"]
    body = {
        "adult_involvement": "no",
        "disclosing_about": ["receiving"],
        "image_locations": [{"kind": "site_or_app", "name": "an invented app"}],
    }
    first = client.post(f"/cases/{case_id}/triage", json=body, headers={**staff, "If-Match": etag})
    assert first.status_code == 201
    stale = client.post(
        f"/cases/{case_id}/triage", json={**body, "reason": "x"}, headers={**dsl, "If-Match": etag}
    )
    assert stale.status_code == 409
    assert "read the case again" in stale.json()["detail"]
    no_reason = client.post(f"/cases/{case_id}/triage", json=body, headers=dsl)
    assert no_reason.status_code == 422
    assert no_reason.json()["detail"][0]["loc"] == ["body", "reason"]
    corrected = client.post(
        f"/cases/{case_id}/triage",
        json={**body, "adult_involvement": "suspected", "reason": "Invented: new message seen"},
        headers=dsl,
    )
    assert corrected.status_code == 201
    history = client.get(f"/cases/{case_id}/triage", headers=dsl).json()
    assert [e["answers"]["adult_involvement"] for e in history] == ["no", "suspected"]
    assert [e["recorded_by"] for e in history] == ["staff.a", "dsl.a"]
    other_staff = bearer(client, "staff.b", Role.STAFF)
    assert client.get(f"/cases/{case_id}/triage", headers=other_staff).status_code == 404
    link = client.post(
        f"/cases/{case_id}/triage",
        json={
            "image_locations": [{"kind": "site_or_app", "name": "https://x.invalid/a.png"}],
            "reason": "Invented",
        },
        headers=dsl,
    )
    assert link.status_code == 422


# The acts in the imagery: asked as two questions since policy uk-2024.3 (issue 12).


def test_violent_and_unusual_acts_are_asked_apart_and_published_as_v2() -> None:
    app = Intake(clock=lambda: NOW)
    case = new_case(app)
    entry, _ = triage(
        app,
        case.id,
        answers={"violent_or_abusive_acts": "yes", "acts_unusual_for_development": "no"},
    )
    assert (
        entry.answers["violent_or_abusive_acts"],
        entry.answers["acts_unusual_for_development"],
    ) == ("yes", "no")
    assert ASKED_AS_ONE not in entry.answers
    (stored,) = [
        e for e in app.repository.event_store.get(case.id) if isinstance(e, TriageRecorded)
    ]
    published = to_contract(stored)
    assert isinstance(published, TriageRecordedV2)
    assert (published.violent_or_abusive_acts, published.acts_unusual_for_development) == (
        "yes",
        "no",
    )


def test_the_one_old_question_is_refused_naming_the_two() -> None:
    app = Intake()
    case = new_case(app)
    with pytest.raises(EntryError, match=f"{ASKED_AS_ONE}: not a field"):
        triage(app, case.id, answers={ASKED_AS_ONE: "yes"})
    assert app.get_incident(case.id).triage == []


def test_the_one_old_question_over_http_is_refused_naming_the_two(client: TestClient) -> None:
    staff = bearer(client, "staff.a", Role.STAFF)
    case_id = client.post(
        "/cases",
        json={"school": "OAK", "disclosure_route": "peer", "summary": "Invented"},
        headers=staff,
    ).json()["case_id"]
    refused = client.post(f"/cases/{case_id}/triage", json={ASKED_AS_ONE: "no"}, headers=staff)
    assert refused.status_code == 422
    assert "violent_or_abusive_acts and acts_unusual_for_development" in str(refused.json())
    apart = {"violent_or_abusive_acts": "no", "acts_unusual_for_development": "unknown"}
    recorded = client.post(f"/cases/{case_id}/triage", json=apart, headers=staff)
    assert recorded.status_code == 201
    assert recorded.json()["answers"]["violent_or_abusive_acts"] == "no"


# What the build before uk-2024.3 stored for a triage: the acts asked as one question, and (for
# the oldest entries) no sexual_acts question either.
APART = ("violent_or_abusive_acts", "acts_unusual_for_development")
ASKED_BEFORE = {
    **{q: "unknown" for q in TRIAGE_ANSWERS if q not in APART and q != "sexual_acts"},
    "disclosing_about": ["sharing"],
    "adult_involvement": "no",
    ASKED_AS_ONE: "yes",
}


def test_a_triage_stored_before_the_acts_were_asked_apart_still_loads_as_recorded(
    store: StoreChoice,
) -> None:
    env = store.env("intake")
    before = Intake(env, clock=lambda: NOW)
    case = new_case(before)
    incident = before.get_incident(case.id)
    # As the earlier build recorded it: its checks passed then, its event is the same class.
    incident.trigger_event(
        TriageRecorded,
        school=incident.school,
        reference=incident.reference,
        number=1,
        answers=ASKED_BEFORE,
        image_locations=[],
        reason="",
        recorded_by="dsl.a",
        recorded_by_role="dsl",
        occurred_at=NOW,
        recorded_at=NOW,
        idempotency_key="",
    )
    before.save(incident)
    before.close()

    after = Intake(env, clock=lambda: NOW + timedelta(hours=1))
    (old,) = after.get_incident(case.id).triage
    assert old.answers == ASKED_BEFORE  # kept as given: one answer is not made into two
    # Published, as it was then, as V1 with its one answer (sexual_acts unknown: not asked).
    stored = [e for e in after.repository.event_store.get(case.id) if isinstance(e, TriageRecorded)]
    published = to_contract(stored[0])
    assert isinstance(published, TriageRecordedV1)
    assert (published.acts_unusual_or_violent, published.sexual_acts) == ("yes", "unknown")

    # A correction asks the two questions; both entries stay, each published as its version.
    triage(
        after,
        case.id,
        answers={"violent_or_abusive_acts": "no", "acts_unusual_for_development": "yes"},
        reason="Invented: the DSL asked which it was",
    )
    first, second = after.get_incident(case.id).triage
    assert (first.answers[ASKED_AS_ONE], second.answers["acts_unusual_for_development"]) == (
        "yes",
        "yes",
    )
    stored = [e for e in after.repository.event_store.get(case.id) if isinstance(e, TriageRecorded)]
    assert [type(to_contract(e)) for e in stored] == [TriageRecordedV1, TriageRecordedV2]
    after.close()
