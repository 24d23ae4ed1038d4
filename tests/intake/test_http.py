"""Intake over HTTP: idempotent retries, and clear refusals."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.intake.entrypoint import create_app
from shared.identity import Role
from tests.conftest import StoreChoice

DISCLOSURE = {"school": "OAK", "disclosure_route": "peer", "summary": "Invented"}
ZONE_ASSUMED = "Safeguard-Time-Zone-Assumed"


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
        ({**DISCLOSURE, "occurred_at": "2025-03-30T01:30:00"}, "occurred_at"),  # clocks forward
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


@pytest.mark.parametrize(
    ("sent", "meant"),
    [
        ("2025-01-15T10:00:00", "2025-01-15T10:00:00+00:00"),  # GMT
        ("2025-07-15T10:00:00", "2025-07-15T09:00:00+00:00"),  # BST
    ],
)
def test_a_time_without_a_zone_is_read_in_the_trusts_and_the_answer_says_so(
    client: TestClient, sent: str, meant: str
) -> None:
    recorded = client.post("/cases", json={**DISCLOSURE, "occurred_at": sent})
    assert recorded.status_code == 201, recorded.text
    assert recorded.headers[ZONE_ASSUMED] == "occurred_at read as Europe/London"
    occurred = datetime.fromisoformat(recorded.json()["occurred_at"])
    assert occurred == datetime.fromisoformat(meant)
    with_zone = client.post("/cases", json={**DISCLOSURE, "occurred_at": meant})
    assert with_zone.status_code == 201
    assert ZONE_ASSUMED not in with_zone.headers


def test_a_time_the_clocks_repeated_is_422_saying_to_send_the_offset(client: TestClient) -> None:
    refused = client.post("/cases", json={**DISCLOSURE, "occurred_at": "2025-10-26T01:30:00"})
    assert refused.status_code == 422
    [error] = refused.json()["detail"]
    assert error["loc"] == ["body", "occurred_at"]
    assert "happened twice" in error["msg"]
    assert "Europe/London" in error["msg"]


def test_the_zone_assumed_is_the_trusts_own_for_every_entry(tmp_path: Path) -> None:
    trust = tmp_path / "trust.toml"
    trust.write_text(
        'name = "Invented Trust"\npolicy_version = "uk-2024.2"\ntimezone = "Asia/Kolkata"\n'
        '[[schools]]\ncode = "OAK"\nname = "Oak School (invented)"\n'
    )
    app = create_app(StoreChoice("sqlite", tmp_path).settings(trust_file=trust))
    with TestClient(app) as c:
        token = app.state.tokens.issue("dsl.oak", Role.DSL, ["OAK"])
        c.headers["Authorization"] = f"Bearer {token}"
        case = c.post("/cases", json={**DISCLOSURE, "occurred_at": "2025-01-15T10:00:00"})
        assert case.headers[ZONE_ASSUMED] == "occurred_at read as Asia/Kolkata"
        assert case.json()["occurred_at"].endswith("+05:30")
        triage = c.post(
            f"/cases/{case.json()['case_id']}/triage", json={"occurred_at": "2025-01-15T10:30"}
        )
        assert triage.status_code == 201, triage.text
        assert triage.headers[ZONE_ASSUMED] == "occurred_at read as Asia/Kolkata"
        assert datetime.fromisoformat(triage.json()["occurred_at"]) == datetime.fromisoformat(
            "2025-01-15T05:00:00+00:00"
        )
