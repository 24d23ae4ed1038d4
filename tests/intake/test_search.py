"""Step 2: the device-search condition matrix, the emergency exception, deciding not to search."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import Tracking
from fastapi.testclient import TestClient

from services.intake.adapters.contracts import to_contract
from services.intake.application import Intake
from services.intake.domain import (
    CaseEntry,
    DeviceSearched,
    IntakeError,
    NeedsReasonError,
    SearchAuthorised,
    SearchConditionError,
    SearchDeclined,
)
from services.intake.entrypoint import create_app
from services.review.application import Reviews
from shared.identity import Role
from tests.conftest import StoreChoice

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
GIRL = {"pseudonym": "YP-1", "year_group": 9, "sex": "female", "roles": ["pictured"]}
UNRECORDED = {"pseudonym": "YP-9", "age": 14, "roles": ["recipient"]}

# A search that meets all four conditions: an authorised searcher of the same sex, the policy
# followed, a member of the safeguarding team present.
GOOD = {
    "pseudonym": "YP-1",
    "device": "personal phone",
    "searcher": "staff.b",
    "searcher_sex": "female",
    "policy_followed": True,
    "safeguarding_team_member": "dsl.oak",
    "outcome": "nothing_found",
    "emergency": False,
    "emergency_justification": "",
}

EACH_CONDITION_FAILING_ALONE = {
    "policy not followed": ({"policy_followed": False}, "not in accordance"),
    "searcher not authorised": ({"searcher": "staff.c"}, "neither the head nor a person"),
    "no safeguarding team member": ({"safeguarding_team_member": ""}, "safeguarding team"),
    "searcher of the other sex": ({"searcher_sex": "male"}, "not of the same sex"),
    "young person's sex not recorded": ({"pseudonym": "YP-9"}, "sex is not recorded"),
}


class CaseApp(Intake):
    """Intake with the one case these tests work on."""

    case_id: UUID


@pytest.fixture
def app() -> CaseApp:
    intake = CaseApp(clock=lambda: NOW)
    incident, _ = intake.report_incident(
        school="OAK",
        disclosure_route="young_person",
        summary="Invented",
        recorded_by="staff.a",
        recorded_by_role="staff",
        young_people=[GIRL, UNRECORDED],
    )
    intake.case_id = incident.id
    for pseudonym in ("YP-1", "YP-9"):
        record(
            intake, SearchAuthorised, "head.oak", "head", searcher="staff.b", pseudonym=pseudonym
        )
    return intake


def record(
    app: CaseApp, kind: type[CaseEntry], by: str, role: str, **details: Any
) -> tuple[Any, bool]:
    return app.record_entry(
        app.case_id, kind, details=details, recorded_by=by, recorded_by_role=role
    )


def search(
    app: CaseApp, recorded_by: str = "staff.b", role: str = "staff", **changes: Any
) -> tuple[Any, bool]:
    return record(app, DeviceSearched, recorded_by, role, **{**GOOD, **changes})


def test_a_search_meeting_every_condition_is_recorded(app: CaseApp) -> None:
    entry, created = search(app, outcome="potentially_illegal_imagery_suspected")
    assert created
    assert entry.conditions_not_met == []
    assert app.get_incident(app.case_id).flagged_for_review == []


def test_the_head_may_search_without_an_authorisation(app: CaseApp) -> None:
    entry, _ = search(app, recorded_by="head.oak", role="head", searcher="head.oak")
    assert entry.searcher == "head.oak"


@pytest.mark.parametrize(
    ("changes", "condition"),
    EACH_CONDITION_FAILING_ALONE.values(),
    ids=EACH_CONDITION_FAILING_ALONE.keys(),
)
def test_each_condition_failing_alone_refuses_the_search_naming_it(
    app: CaseApp, changes: dict[str, Any], condition: str
) -> None:
    with pytest.raises(SearchConditionError, match=condition) as refused:
        search(app, **changes)
    assert refused.value.args[0].count(";") == 0  # that condition, and only that one
    assert app.get_incident(app.case_id).searches == []


@pytest.mark.parametrize(
    ("changes", "condition"),
    EACH_CONDITION_FAILING_ALONE.values(),
    ids=EACH_CONDITION_FAILING_ALONE.keys(),
)
def test_the_emergency_exception_with_its_justification_flags_the_case(
    app: CaseApp, changes: dict[str, Any], condition: str
) -> None:
    entry, _ = search(
        app,
        **changes,
        emergency=True,
        emergency_justification="Invented: risk of serious harm, no one else",
    )
    assert entry.emergency
    assert len(entry.conditions_not_met) == 1
    assert condition in entry.conditions_not_met[0]
    flags = app.get_incident(app.case_id).flagged_for_review
    assert len(flags) == 1
    assert condition in flags[0]


def test_the_emergency_exception_without_a_justification_is_refused(app: CaseApp) -> None:
    with pytest.raises(SearchConditionError, match="written justification"):
        search(app, safeguarding_team_member="", emergency=True, emergency_justification=" ")


def test_only_the_head_authorises_and_only_for_a_recorded_young_person(app: CaseApp) -> None:
    with pytest.raises(SearchConditionError, match="only the head"):
        record(app, SearchAuthorised, "dsl.oak", "dsl", searcher="staff.c", pseudonym="YP-1")
    with pytest.raises(IntakeError, match="no young person YP-7"):
        record(app, SearchAuthorised, "head.oak", "head", searcher="staff.c", pseudonym="YP-7")
    # The same authorisation again records nothing: it answers with the first.
    first = app.get_incident(app.case_id).search_authorisations[0]
    again, created = record(
        app, SearchAuthorised, "head.oak", "head", searcher="staff.b", pseudonym="YP-1"
    )
    assert (again, created) == (first, False)
    assert len(app.get_incident(app.case_id).search_authorisations) == 2


def test_deciding_not_to_search_needs_its_reason(app: CaseApp) -> None:
    with pytest.raises(NeedsReasonError):
        record(app, SearchDeclined, "dsl.oak", "dsl", pseudonym="YP-1", reason=" ")
    declined, _ = record(
        app,
        SearchDeclined,
        "dsl.oak",
        "dsl",
        pseudonym="YP-1",
        reason="Invented: it would add to her distress",
    )
    assert declined.reason == "Invented: it would add to her distress"


def test_review_shows_an_emergency_search_for_review(app: CaseApp) -> None:
    search(
        app,
        safeguarding_team_member="",
        emergency=True,
        emergency_justification="Invented: no one else practicable",
    )
    kinds = (SearchAuthorised, DeviceSearched)
    events = [e for e in app.repository.event_store.get(app.case_id) if isinstance(e, kinds)]
    reviews = Reviews()
    for position, event in enumerate(events, start=1):
        reviews.process_event(to_contract(event), Tracking("intake", position))
    entries = reviews.get_case(app.case_id).entries
    assert [e.kind for e in entries] == [
        "device_search_authorised",
        "device_search_authorised",
        "device_searched_emergency",
    ]
    assert "EMERGENCY EXCEPTION, for review" in entries[-1].summary


@pytest.fixture
def client(store: StoreChoice) -> Iterator[TestClient]:
    app = create_app(store.settings())
    with TestClient(app) as c:
        yield c


def bearer(client: TestClient, user: str, role: Role) -> dict[str, str]:
    token = client.app.state.tokens.issue(user, role, ["OAK"])
    return {"Authorization": f"Bearer {token}"}


def test_step_2_over_http(client: TestClient) -> None:
    staff_b = bearer(client, "staff.b", Role.STAFF)
    head = bearer(client, "head.oak", Role.HEAD)
    case_id = client.post(
        "/cases",
        json={
            "school": "OAK",
            "disclosure_route": "peer",
            "summary": "Invented",
            "young_people": [GIRL],
        },
        headers=staff_b,
    ).json()["case_id"]
    body = {k: v for k, v in GOOD.items() if k not in ("emergency", "emergency_justification")}
    refused = client.post(f"/cases/{case_id}/searches", json=body, headers=staff_b)
    assert refused.status_code == 422
    assert "neither the head nor a person the head authorised" in refused.json()["detail"]
    assert (
        client.post(
            f"/cases/{case_id}/search-authorisations",
            json={"searcher": "staff.b", "pseudonym": "YP-1"},
            headers=staff_b,
        ).status_code
        == 403
    )
    assert (
        client.post(
            f"/cases/{case_id}/search-authorisations",
            json={"searcher": "staff.b", "pseudonym": "YP-1"},
            headers=head,
        ).status_code
        == 201
    )
    searched = client.post(
        f"/cases/{case_id}/searches", json=body, headers={**staff_b, "Idempotency-Key": "s1"}
    )
    assert searched.status_code == 201
    again = client.post(
        f"/cases/{case_id}/searches", json=body, headers={**staff_b, "Idempotency-Key": "s1"}
    )
    assert again.status_code == 200
    image = client.post(
        f"/cases/{case_id}/searches",
        json={**body, "device": "data:image/png;base64,iVBORw0KGgo="},
        headers=staff_b,
    )
    assert image.status_code == 422
