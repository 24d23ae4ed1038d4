"""A write that collides with the service's own write: retried by the server when the client
sent no If-Match, 409 when it did, 503 with Retry-After when the case never stops changing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.domain import Aggregate
from fastapi.testclient import TestClient

from services.intake.application import Intake
from services.intake.domain import LeadershipInformed, Recording
from services.intake.entrypoint import create_app
from shared.identity import Role
from tests.conftest import StoreChoice

INFORMED = {"audience": "dsl", "person": "dsl.oak", "how": "in_person"}


@pytest.fixture
def client(tmp_path) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    app = create_app(StoreChoice("sqlite", tmp_path).settings())
    with TestClient(app) as c:
        token = app.state.tokens.issue("dsl.oak", Role.DSL, ["OAK"])
        c.headers["Authorization"] = f"Bearer {token}"
        yield c


def intake_of(client: TestClient) -> Intake:
    app = client.app.state.runtime.app  # type: ignore[attr-defined]
    assert isinstance(app, Intake)
    return app


def new_case(client: TestClient) -> str:
    r = client.post("/cases", json={"school": "OAK", "disclosure_route": "peer", "summary": "X"})
    assert r.status_code == 201
    return str(r.json()["case_id"])


def the_service_writes_first(
    monkeypatch: pytest.MonkeyPatch, intake: Intake, times: int
) -> list[str]:
    """Before each of the next ``times`` saves of a case, the service itself appends to the
    same case (as a consumer applying an upstream message would), so the store refuses the
    save: the real collision, not a stand-in for it."""
    real_save = Intake.save
    collisions: list[str] = []

    def save(self: Intake, *objs: Any, **kwargs: Any) -> Any:
        case = next((o for o in objs if isinstance(o, Aggregate)), None)
        if case is not None and len(collisions) < times and objs[0].pending_events:
            collisions.append(str(case.id))
            own = self.repository.get(case.id)
            now = self.clock()
            LeadershipInformed.record(
                own,
                Recording("head.oak", "head", now, now),
                audience="senior_management",
                person="head.oak",
                how="in_person",
                reason="",
            )
            real_save(self, own)
        return real_save(self, *objs, **kwargs)

    monkeypatch.setattr(Intake, "save", save)
    return collisions


def test_a_write_without_if_match_that_collides_is_recorded_by_the_server(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = new_case(client)
    collisions = the_service_writes_first(monkeypatch, intake_of(client), times=2)
    r = client.post(f"/cases/{case_id}/informed", json=INFORMED)
    assert r.status_code == 201, r.text
    assert collisions == [case_id, case_id]  # it collided twice, and was recorded the third time
    informed = intake_of(client).get_incident(UUID(case_id)).informed
    assert [e.audience for e in informed].count("dsl") == 1  # once, not once per attempt


def test_a_write_with_if_match_that_collides_is_409(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = new_case(client)
    etag = client.get(f"/cases/{case_id}").headers["ETag"]
    the_service_writes_first(monkeypatch, intake_of(client), times=1)
    r = client.post(f"/cases/{case_id}/informed", json=INFORMED, headers={"If-Match": etag})
    assert r.status_code == 409
    assert "If-Match" in r.json()["detail"]


def test_a_case_that_never_stops_changing_is_503_with_retry_after_and_nothing_recorded(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = new_case(client)
    the_service_writes_first(monkeypatch, intake_of(client), times=1000)
    r = client.post(f"/cases/{case_id}/informed", json=INFORMED, headers={"Idempotency-Key": "k"})
    assert r.status_code == 503
    assert r.headers["Retry-After"] == "1"
    assert "nothing was recorded" in r.json()["detail"]
    informed = intake_of(client).get_incident(UUID(case_id)).informed
    assert "dsl" not in [e.audience for e in informed]
