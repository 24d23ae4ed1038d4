"""Intake over HTTP: idempotent retries, and clear refusals."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from services.intake.entrypoint import create_app
from shared.identity import Role
from tests.conftest import StoreChoice

DISCLOSURE = {"school": "OAK", "disclosure_route": "peer", "summary": "Invented"}


@pytest.fixture
def client(tmp_path) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    app = create_app(StoreChoice("sqlite", tmp_path).settings())
    with TestClient(app) as c:
        token = app.state.tokens.issue("staff.a", Role.STAFF, ["OAK"])
        c.headers["Authorization"] = f"Bearer {token}"
        yield c


def test_a_retry_with_the_same_key_returns_the_same_case(client: TestClient) -> None:
    first = client.post("/cases", json=DISCLOSURE, headers={"Idempotency-Key": "k1"})
    again = client.post("/cases", json=DISCLOSURE, headers={"Idempotency-Key": "k1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert again.headers["Location"] == f"/cases/{first.json()['case_id']}"


def test_a_key_reused_for_another_disclosure_is_422(client: TestClient) -> None:
    client.post("/cases", json=DISCLOSURE, headers={"Idempotency-Key": "k1"})
    other = client.post(
        "/cases", json={**DISCLOSURE, "summary": "Another"}, headers={"Idempotency-Key": "k1"}
    )
    assert other.status_code == 422
    assert "Idempotency-Key" in other.json()["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**DISCLOSURE, "disclosure_route": "rumour"}, "disclosure_route"),
        ({**DISCLOSURE, "summary": ""}, "summary"),
        ({**DISCLOSURE, "school": "oak"}, "school"),
        ({**DISCLOSURE, "occurred_at": "2026-01-01T10:00:00"}, "occurred_at"),
        ({**DISCLOSURE, "occurred_at": "2999-01-01T10:00:00Z"}, "occurred_at"),
        ({**DISCLOSURE, "image": "data:image/png;base64,AAAA"}, "image"),
    ],
)
def test_bad_input_is_422_naming_the_field(
    client: TestClient, body: dict[str, str], field: str
) -> None:
    response = client.post("/cases", json=body)
    assert response.status_code == 422
    assert field in str(response.json()["detail"])


def test_openapi_is_served(client: TestClient) -> None:
    assert "/cases" in client.get("/openapi.json").json()["paths"]
