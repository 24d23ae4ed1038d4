"""What review's HTTP tests share: the service on the test's store, its application, and a
bearer token for a role."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from services.review.application import Reviews
from services.review.entrypoint import create_app
from shared.identity import Role
from tests.conftest import StoreChoice


@pytest.fixture
def client(store: StoreChoice) -> Iterator[TestClient]:
    with TestClient(create_app(store.settings())) as c:
        yield c


def reviews_of(client: TestClient) -> Reviews:
    app = client.app.state.runtime.app  # type: ignore[attr-defined]
    assert isinstance(app, Reviews)
    return app


def bearer(
    client: TestClient, role: Role = Role.DSL, schools: tuple[str, ...] = ("OAK",), user: str = ""
) -> dict[str, str]:
    tokens = client.app.state.tokens  # type: ignore[attr-defined]
    token = tokens.issue(user or f"{role}.test", role, list(schools))
    return {"Authorization": f"Bearer {token}"}
