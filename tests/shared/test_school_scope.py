"""A case of a school outside the token is 404, exactly as if it did not exist."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from eventsourcing.persistence import Tracking
from fastapi.testclient import TestClient

from services.intake.entrypoint import create_app as intake_app
from services.referral.entrypoint import create_app as referral_app
from services.review.entrypoint import create_app as review_app
from shared.contracts.intake import IncidentReportedV1
from shared.identity import Role, TokenService
from tests.conftest import StoreChoice
from tests.helpers import incident_reported


def bearer(client: TestClient, user: str, role: Role, schools: list[str]) -> dict[str, str]:
    tokens: TokenService = client.app.state.tokens  # type: ignore[attr-defined]
    return {"Authorization": f"Bearer {tokens.issue(user, role, schools)}"}


@pytest.fixture
def intake(store: StoreChoice) -> Iterator[TestClient]:
    app = intake_app(store.settings())
    with TestClient(app) as client:
        yield client


def test_intake_case_visibility(intake: TestClient) -> None:
    staff = bearer(intake, "staff.a", Role.STAFF, ["OAK"])
    created = intake.post(
        "/cases",
        json={"school": "OAK", "disclosure_route": "peer", "summary": "Invented"},
        headers=staff,
    )
    assert created.status_code == 201
    path = f"/cases/{created.json()['case_id']}"
    assert intake.get(path, headers=staff).status_code == 200
    assert intake.get(path, headers=bearer(intake, "dsl.oak", Role.DSL, ["OAK"])).status_code == 200
    hidden = [
        bearer(intake, "staff.b", Role.STAFF, ["OAK"]),  # staff see only what they recorded
        bearer(intake, "dsl.elm", Role.DSL, ["ELM"]),
        bearer(intake, "head.elm", Role.HEAD, ["ELM"]),
    ]
    for headers in hidden:
        response = intake.get(path, headers=headers)
        assert response.status_code == 404
        assert response.json() == {"detail": "no such case"}


def test_recording_for_a_school_outside_the_token_is_403(intake: TestClient) -> None:
    response = intake.post(
        "/cases",
        json={"school": "ELM", "disclosure_route": "peer", "summary": "Invented"},
        headers=bearer(intake, "staff.a", Role.STAFF, ["OAK"]),
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("make_app", "path"),
    [(referral_app, "/cases/{}/assessments"), (review_app, "/cases/{}")],
)
def test_downstream_case_views_are_scoped_to_the_school(
    store: StoreChoice,
    make_app,
    path: str,  # type: ignore[no-untyped-def]
) -> None:
    app = make_app(store.settings())
    with TestClient(app) as client:
        contract = incident_reported()
        assert isinstance(contract, IncidentReportedV1)
        app.state.runtime.app.process_event(contract, Tracking("intake", 1))
        url = path.format(contract.case_id)
        assert client.get(url, headers=bearer(client, "d", Role.DSL, ["OAK"])).status_code == 200
        assert client.get(url, headers=bearer(client, "a", Role.AUDITOR, ["*"])).status_code == 200
        for role in (Role.DSL, Role.HEAD, Role.AUDITOR):
            response = client.get(url, headers=bearer(client, "x", role, ["ELM"]))
            assert response.status_code == 404, role


def test_a_store_that_is_down_is_503_and_records_nothing(
    intake: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from eventsourcing.persistence import OperationalError

    from services.intake.application import Intake

    def down(*args: object, **kwargs: object) -> None:
        raise OperationalError("connection refused")

    monkeypatch.setattr(Intake, "save", down)
    response = intake.post(
        "/cases",
        json={"school": "OAK", "disclosure_route": "peer", "summary": "Invented"},
        headers=bearer(intake, "staff.a", Role.STAFF, ["OAK"]),
    )
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert "nothing was recorded" in response.json()["detail"]


# A case named by its reference: the same case, the same rules, in every service.


def test_intake_finds_a_case_by_its_reference_with_the_same_rules(intake: TestClient) -> None:
    staff = bearer(intake, "staff.a", Role.STAFF, ["OAK"])
    disclosure = {"school": "OAK", "disclosure_route": "peer", "summary": "Invented"}
    first = intake.post("/cases", json=disclosure, headers=staff).json()
    assert intake.get(f"/cases/{first['reference']}", headers=staff).json() == first
    # A case recorded after the first look-up is found too, and letters in any case will do.
    second = intake.post("/cases", json=disclosure, headers=staff).json()
    by_reference = intake.get(f"/cases/{second['reference'].lower()}", headers=staff)
    assert by_reference.json()["case_id"] == second["case_id"]
    triage = intake.post(f"/cases/{second['reference']}/triage", json={}, headers=staff)
    assert triage.status_code == 201, triage.text
    assert len(intake.get(f"/cases/{second['case_id']}/triage", headers=staff).json()) == 1

    missing = intake.get("/cases/OAK-2026-9999", headers=staff)
    assert (missing.status_code, missing.json()) == (404, {"detail": "no such case"})
    for headers in (
        bearer(intake, "staff.b", Role.STAFF, ["OAK"]),
        bearer(intake, "dsl.elm", Role.DSL, ["ELM"]),
    ):
        hidden = intake.get(f"/cases/{first['reference']}", headers=headers)
        assert (hidden.status_code, hidden.json()) == (404, {"detail": "no such case"})
    neither = intake.get("/cases/the-oak-case", headers=staff)
    assert neither.status_code == 422
    assert {tuple(e["loc"]) for e in neither.json()["detail"]} == {("path", "case_id")}


@pytest.mark.parametrize(
    ("make_app", "read", "post", "body"),
    [
        (
            referral_app,
            "/cases/{}/assessments",
            "/cases/{}/classification-overrides",
            {"classification": "experimental", "subtype": "romantic", "reason": "Invented"},
        ),
        (
            review_app,
            "/cases/{}",
            "/cases/{}/support",
            {"pseudonym": "YP-1", "kind": "pastoral", "given_by": "Tutor", "detail": "Invented"},
        ),
    ],
)
def test_downstream_services_find_a_case_by_the_reference_intake_published(
    store: StoreChoice,
    make_app,  # type: ignore[no-untyped-def]
    read: str,
    post: str,
    body: dict[str, str],
) -> None:
    app = make_app(store.settings())
    with TestClient(app) as client:
        contract = incident_reported(reference="OAK-2026-0042")
        assert isinstance(contract, IncidentReportedV1)
        app.state.runtime.app.process_event(contract, Tracking("intake", 1))
        dsl = bearer(client, "dsl.oak", Role.DSL, ["OAK"])
        found = client.get(read.format("OAK-2026-0042"), headers=dsl)
        assert found.status_code == 200, found.text
        assert found.json()["case_id"] == str(contract.case_id)
        recorded = client.post(post.format("OAK-2026-0042"), json=body, headers=dsl)
        assert recorded.status_code == 201, recorded.text

        hidden = client.get(
            read.format("OAK-2026-0042"), headers=bearer(client, "d", Role.DSL, ["ELM"])
        )
        missing = client.get(read.format("OAK-2026-0043"), headers=dsl)
        for response in (hidden, missing):
            assert (response.status_code, response.json()) == (404, {"detail": "no such case"})
