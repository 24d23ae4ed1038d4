"""The young people of an incident: pseudonymous, each with their own roles, corrections kept."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from eventsourcing.persistence import Tracking
from fastapi.testclient import TestClient

from services.intake.adapters.contracts import to_contract
from services.intake.application import IdempotencyKeyReusedError, Intake
from services.intake.domain import IntakeError, NeedsReasonError, YoungPersonRecorded
from services.intake.entrypoint import create_app
from services.review.application import Reviews
from shared.contracts.intake import YoungPersonRecordedV1
from shared.entries import EntryError
from shared.identity import Role
from tests.conftest import StoreChoice
from tests.intake.entries import record

PICTURED = {"pseudonym": "YP-1", "year_group": 9, "sex": "female", "roles": ["pictured", "sender"]}
RECIPIENT = {
    "pseudonym": "YP-2",
    "age": 15,
    "sex": "male",
    "roles": ["recipient", "forwarder"],
    "vulnerabilities": ["special_educational_needs"],
}


def report(app: Intake, **kw):  # type: ignore[no-untyped-def]
    values = {
        "school": "OAK",
        "disclosure_route": "young_person",
        "summary": "Invented",
        "recorded_by": "staff.a",
        "recorded_by_role": "staff",
    }
    values.update(kw)
    return app.report_incident(**values)  # type: ignore[arg-type]


def correct(  # type: ignore[no-untyped-def]
    app: Intake, case_id, details: dict[str, object], reason: str = "", key: str | None = None
):
    """Add a young person to the case, or correct one, as the DSL."""
    return record(
        app,
        case_id,
        YoungPersonRecorded,
        recorded_by="dsl.a",
        recorded_by_role="dsl",
        idempotency_key=key,
        **details,
        reason=reason,
    )


def test_a_disclosure_records_several_young_people_each_with_their_roles() -> None:
    app = Intake()
    incident, _ = report(app, young_people=[PICTURED, RECIPIENT])
    stored = app.get_incident(incident.id)
    assert sorted(stored.young_people) == ["YP-1", "YP-2"]
    assert stored.young_people["YP-1"].roles == ["pictured", "sender"]
    assert stored.young_people["YP-2"].vulnerabilities == ["special_educational_needs"]
    assert stored.young_people["YP-2"].year_group is None
    assert stored.young_people["YP-2"].age == 15


@pytest.mark.parametrize(
    ("details", "message"),
    [
        ({**PICTURED, "pseudonym": "Jane Smith"}, "never a name"),
        ({"pseudonym": "YP-3", "roles": ["pictured"]}, "year group or an age"),
        ({**PICTURED, "roles": []}, "one or more roles"),
        ({**PICTURED, "roles": ["bystander"]}, "roles must be among"),
        ({**PICTURED, "sex": "x"}, "sex must be one of"),
        ({**PICTURED, "year_group": 19}, "not a school year"),
        ({**PICTURED, "vulnerabilities": ["tall"]}, "vulnerabilities must be among"),
    ],
)
def test_details_outside_the_rules_are_refused_and_nothing_is_stored(
    details: dict[str, object], message: str
) -> None:
    app = Intake()
    # A word outside the vocabulary is an EntryError, as the rules' own IntakeErrors are.
    with pytest.raises(EntryError, match=message):
        report(app, young_people=[details])
    assert not app.recorder.max_notification_id()


def test_the_same_young_person_twice_in_one_disclosure_is_refused() -> None:
    with pytest.raises(IntakeError, match="listed twice"):
        report(Intake(), young_people=[PICTURED, {**PICTURED, "roles": ["recipient"]}])


def test_a_correction_needs_its_reason_and_keeps_the_earlier_record() -> None:
    app = Intake()
    incident, _ = report(app, young_people=[PICTURED])
    with pytest.raises(NeedsReasonError):
        correct(app, incident.id, {**PICTURED, "year_group": 10})
    correct(app, incident.id, {**PICTURED, "year_group": 10}, "Invented: the year group was wrong")
    stored = app.get_incident(incident.id)
    assert [p.year_group for p in stored.young_people_history] == [9, 10]
    assert stored.young_people["YP-1"].year_group == 10


def test_retries_with_a_key_record_nothing_twice() -> None:
    app = Intake()
    first, _ = report(app, young_people=[PICTURED], idempotency_key="k")
    again, created = report(app, young_people=[PICTURED], idempotency_key="k")
    assert (again.id, created) == (first.id, False)
    with pytest.raises(IdempotencyKeyReusedError):
        report(app, young_people=[RECIPIENT], idempotency_key="k")
    added, created = correct(app, first.id, RECIPIENT, key="a1")
    again_added, created_again = correct(app, first.id, RECIPIENT, key="a1")
    assert (created, created_again) == (True, False)
    assert again_added == added
    assert len(app.get_incident(first.id).young_people_history) == 2


def test_published_as_a_contract_and_shown_by_review() -> None:
    app = Intake()
    incident, _ = report(app, young_people=[RECIPIENT])
    events = list(app.repository.event_store.get(incident.id))
    contracts = [to_contract(e) for e in events if isinstance(e, YoungPersonRecorded)]
    assert isinstance(contracts[0], YoungPersonRecordedV1)
    assert contracts[0].pseudonym == "YP-2"
    reviews = Reviews()
    reviews.process_event(contracts[0], Tracking("intake", 1))
    entry = reviews.get_case(incident.id).entries[0]
    assert entry.kind == "young_person_recorded"
    assert entry.summary == (
        "YP-2 (age 15, male): forwarder, recipient; vulnerabilities: special_educational_needs"
    )


@pytest.fixture
def client(store: StoreChoice) -> Iterator[TestClient]:
    app = create_app(store.settings())
    with TestClient(app) as c:
        token = app.state.tokens.issue("dsl.a", Role.DSL, ["OAK"])
        c.headers["Authorization"] = f"Bearer {token}"
        yield c


def test_young_people_over_http(client: TestClient) -> None:
    created = client.post(
        "/cases",
        json={
            "school": "OAK",
            "disclosure_route": "peer",
            "summary": "Invented",
            "young_people": [PICTURED],
        },
    )
    assert created.status_code == 201
    case = created.json()
    assert [p["pseudonym"] for p in case["young_people"]] == ["YP-1"]
    path = f"/cases/{case['case_id']}/young-people"
    added = client.post(path, json={"young_person": RECIPIENT}, headers={"Idempotency-Key": "a"})
    assert added.status_code == 201
    no_reason = client.post(path, json={"young_person": {**RECIPIENT, "age": 16}})
    assert no_reason.status_code == 422
    assert no_reason.json()["detail"][0]["loc"] == ["body", "reason"]
    corrected = client.post(
        path, json={"young_person": {**RECIPIENT, "age": 16}, "reason": "Invented: age checked"}
    )
    assert corrected.status_code == 201
    history = client.get(path).json()
    assert [(p["pseudonym"], p["age"]) for p in history] == [
        ("YP-1", None),
        ("YP-2", 15),
        ("YP-2", 16),
    ]
    bad = client.post(path, json={"young_person": {**RECIPIENT, "roles": ["bystander"]}})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"][:3] == ["body", "young_person", "roles"]
