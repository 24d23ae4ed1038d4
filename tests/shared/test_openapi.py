"""Each service's /docs and /redoc work with no internet: every script, style, icon and document
they load comes from the service itself. Its OpenAPI document puts the bearer lock on every route
that needs a token, and lists the errors each route can answer, in the ``{"detail": ...}``
model the service answers them in."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.intake import entrypoint as intake
from services.referral import entrypoint as referral
from services.review import entrypoint as review
from tests.conftest import StoreChoice

SERVICES = {"intake": intake, "referral": referral, "review": review}
PUBLIC = {"/healthz", "/readyz"}
ERROR = {"$ref": "#/components/schemas/HTTPError"}


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Opening any connection fails the test: what the pages need must be in the service."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a connection was opened: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture(params=list(SERVICES))
def client(
    request: pytest.FixtureRequest, tmp_path: Path, no_network: None
) -> Iterator[TestClient]:
    settings = StoreChoice("sqlite", tmp_path).settings()
    with TestClient(SERVICES[request.param].create_app(settings)) as c:
        yield c


def loaded_by(html: str) -> list[str]:
    """Every URL a docs page makes the browser load: scripts, styles, icons, the OpenAPI
    document (ReDoc's ``spec-url``, Swagger UI's ``url``)."""
    return re.findall(r'(?:src|href|spec-url)="([^"]+)"', html) + re.findall(
        r"\burl: '([^']+)'", html
    )


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_pages_load_everything_from_the_service_itself(
    client: TestClient, page: str
) -> None:
    response = client.get(page)
    assert response.status_code == 200
    html = response.text
    assert "http://" not in html
    assert "https://" not in html  # no CDN, no web fonts
    urls = loaded_by(html)
    assert "/openapi.json" in urls
    assert [u for u in urls if u.endswith(".js")], "the page loads no script"
    for url in urls:
        assert url.startswith("/"), url
        assert not url.startswith("//"), url  # another host, whatever the scheme
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert asset.content, url
        if url.endswith(".js"):
            assert "javascript" in asset.headers["content-type"], url
        if url.endswith(".css"):
            assert asset.headers["content-type"].startswith("text/css"), url


def test_swagger_ui_sends_nothing_to_the_online_validator(client: TestClient) -> None:
    assert '"validatorUrl": null' in client.get("/docs").text


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def errors(operation: dict[str, Any]) -> set[int]:
    """The error codes an operation documents, besides FastAPI's own 422."""
    return {int(c) for c in operation["responses"] if c.isdigit() and int(c) >= 400} - {422}


def takes_if_match(operation: dict[str, Any]) -> bool:
    return any(
        (p["in"], p["name"].lower()) == ("header", "if-match")
        for p in operation.get("parameters", [])
    )


def test_every_route_that_needs_a_token_shows_the_lock_and_its_errors(
    client: TestClient,
) -> None:
    document = client.get("/openapi.json").json()
    scheme = document["components"]["securitySchemes"]["bearer"]
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")
    model = document["components"]["schemas"]["HTTPError"]
    assert model["required"] == ["detail"]
    assert model["properties"]["detail"]["type"] == "string"
    seen: set[int] = set()
    for path, method, operation in operations(document):
        if path in PUBLIC:
            assert "security" not in operation, path
            assert errors(operation) == set(), path
            continue
        assert operation["security"] == [{"bearer": []}], (method, path)
        expected = {401, 403, 503}
        if "{case_id}" in path:
            expected.add(404)
        if method == "post" and takes_if_match(operation):
            expected.add(409)
        assert errors(operation) == expected, (method, path)
        for code in expected:
            response = operation["responses"][str(code)]
            assert response["description"], (method, path, code)
            assert response["content"]["application/json"]["schema"] == ERROR
        assert operation["responses"]["401"]["headers"]["WWW-Authenticate"]
        assert operation["responses"]["503"]["headers"]["Retry-After"]
        seen |= expected
    assert seen == {401, 403, 404, 409, 503}


def test_the_documented_401_is_what_a_route_answers_without_a_token(client: TestClient) -> None:
    for path, method, operation in operations(client.get("/openapi.json").json()):
        if "401" not in operation["responses"]:
            continue
        url = path.replace("{case_id}", "00000000-0000-4000-8000-000000000000")
        response = client.request(method, url, json={} if method == "post" else None)
        assert response.status_code == 401, (method, path)
        assert response.json() == {"detail": "a bearer token is required"}
        assert response.headers["www-authenticate"] == "Bearer"
