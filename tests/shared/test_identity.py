"""401 / 403 / 404 exactly as the platform promises, for every case route of every service."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import jwt
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from services.intake import entrypoint as intake
from services.referral import entrypoint as referral
from services.review import entrypoint as review
from shared.identity import Authorize, Role, TokenError, TokenService
from tests.conftest import StoreChoice

SERVICES = {"intake": intake, "referral": referral, "review": review}
PUBLIC = {"/healthz", "/readyz"}
VALID_BODIES = {
    "/cases": {"school": "OAK", "disclosure_route": "peer", "summary": "Invented"},
    "/cases/{case_id}/informed": {"audience": "dsl", "person": "dsl.oak", "how": "phone"},
    "/cases/{case_id}/dsl": {"dsl": "dsl.oak"},
    "/cases/{case_id}/search-authorisations": {"searcher": "staff.b", "pseudonym": "YP-1"},
    "/cases/{case_id}/searches": {
        "pseudonym": "YP-1",
        "device": "phone",
        "searcher": "staff.b",
        "searcher_sex": "female",
        "policy_followed": True,
        "safeguarding_team_member": "dsl.oak",
        "outcome": "nothing_found",
    },
    "/cases/{case_id}/searches/declined": {"pseudonym": "YP-1", "reason": "Invented"},
    "/cases/{case_id}/young-people": {
        "young_person": {"pseudonym": "YP-1", "year_group": 9, "roles": ["pictured"]}
    },
    "/cases/{case_id}/custody": {
        "device": "phone",
        "action": "confiscated",
        "held_by": "dsl.oak",
        "location": "safe",
        "seal_number": "S-1",
        "switched_off": True,
    },
    "/cases/{case_id}/not-viewed-attestations": {"context": "Invented"},
    "/cases/{case_id}/viewing-agreements": {
        "dsl": "dsl.oak",
        "pseudonym": "YP-1",
        "reason": "Invented",
    },
    "/cases/{case_id}/viewings": {
        "pseudonym": "YP-1",
        "viewer_sex": "female",
        "senior_present": "head.oak",
        "on_school_premises": True,
        "reason": "Invented",
        "what_was_seen": "Invented",
        "what_was_done": "Invented",
    },
    "/cases/{case_id}/containment": {
        "action": "network_blocked",
        "done_by": "it.oak",
        "where": "school network",
    },
    "/cases/{case_id}/site-reports": {"site": "Invented", "report_reference": "R-1"},
    "/cases/{case_id}/deletion-requests": {
        "pseudonym": "YP-1",
        "deadline": "2030-01-01T10:00:00Z",
        "places": ["devices"],
    },
    "/cases/{case_id}/deletion-confirmations": {"pseudonym": "YP-1", "how": "Invented"},
    # referral
    "/cases/{case_id}/actions/completed": {"action": "police", "how": "phone", "whom": "Invented"},
    "/cases/{case_id}/actions/declined": {"action": "police", "reason": "Invented"},
    "/cases/{case_id}/classification-overrides": {
        "classification": "experimental",
        "subtype": "romantic",
        "reason": "Invented",
    },
    "/cases/{case_id}/risk-assessments": {
        "factors": {
            "willing_or_coerced": "willing",
            "spread_beyond_intended_recipient": "no",
            "public_platform": "no",
            "several_recipients": "no",
            "vulnerabilities": "no",
            "earlier_incidents": "no",
            "intent_to_harm": "no",
            "without_consent": "no",
            "experimental_context": "romantic",
        },
        "conclusion": "low",
        "reasons": "Invented",
    },
    "/cases/{case_id}/safeguards": {"pseudonym": "YP-1", "kind": "support", "detail": "Invented"},
    "/cases/{case_id}/police-outcomes": {
        "code": "21",
        "outcome_date": "2026-12-01",
        "police_reference": "INV-1",
    },
    # review
    "/cases/{case_id}/support": {
        "pseudonym": "YP-1",
        "kind": "pastoral",
        "given_by": "Invented",
        "detail": "Invented",
    },
    "/cases/{case_id}/staff-informed": {"staff": "Invented", "what_and_why": "Invented"},
    "/cases/{case_id}/parents-conversations": {
        "pseudonym": "YP-1",
        "with_whom": "Invented",
        "how": "phone",
        "what_was_said": "Invented",
    },
    "/cases/{case_id}/education-sessions": {
        "audience": "Year 9",
        "topic": "Invented",
        "delivered_by": "Invented",
    },
    "/cases/{case_id}/removal-help": {
        "pseudonym": "YP-1",
        "service": "childline_iwf_report_remove",
        "status": "signposted",
    },
    "/cases/{case_id}/site-removals": {"site": "Invented", "status": "requested"},
    "/cases/{case_id}/reviews": {
        "what_worked": "Invented",
        "what_did_not_work": "Invented",
        "procedure_changes": "Invented",
    },
    "/cases/{case_id}/closure": {},
    "/cases/{case_id}/reopening": {"reason": "Invented"},
    "/cases/{case_id}/transfers": {
        "pseudonym": "YP-1",
        "to_school": "ELM",
        "to_whom": "Invented",
        "method": "secure_records_system",
    },
    "/cases/{case_id}/transfers/confirmations": {"confirmed_by": "Invented"},
}


def guarded_routes(app: FastAPI) -> list[tuple[APIRoute, frozenset[Role]]]:
    """Every route the service serves but the health checks, with the roles its Authorize
    dependency allows. The OpenAPI document is the list of what the app serves."""
    service = SERVICES[app.title.removeprefix("safeguard ")]
    routes = {
        (r.path, m): r for r in service.router.routes if isinstance(r, APIRoute) for m in r.methods
    }
    served = {
        (path, method.upper()) for path, item in app.openapi()["paths"].items() for method in item
    }
    assert served - {(p, "GET") for p in PUBLIC} == set(routes), "a route outside the router"
    found = []
    for route in {id(r): r for r in routes.values()}.values():
        roles = [
            d.call.roles for d in route.dependant.dependencies if isinstance(d.call, Authorize)
        ]
        assert roles, f"{route.path} has no Authorize dependency"
        found.append((route, roles[0]))
    return found


def concrete(path: str) -> str:
    return path.replace("{case_id}", str(uuid.uuid4()))


@pytest.fixture(params=list(SERVICES))
def client(request: pytest.FixtureRequest, tmp_path) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    settings = StoreChoice("sqlite", tmp_path).settings()
    with TestClient(SERVICES[request.param].create_app(settings)) as c:
        yield c


def token(client: TestClient, role: Role, schools: list[str], **kw: object) -> dict[str, str]:
    tokens: TokenService = client.app.state.tokens  # type: ignore[attr-defined]
    return {"Authorization": f"Bearer {tokens.issue('user.test', role, schools, **kw)}"}  # type: ignore[arg-type]


def example_of(route: APIRoute) -> dict[str, Any]:
    """The example a route's body documents (a kind of entry's ``EXAMPLE``), if any."""
    if route.body_field is None:
        return {}
    model = route.body_field.field_info.annotation
    examples = model.model_json_schema().get("examples", [{}])  # type: ignore[union-attr]
    example: dict[str, Any] = examples[0]
    return example


def call(client: TestClient, route: APIRoute, headers: dict[str, str]) -> int:
    method = next(iter(route.methods))
    # A valid body for each POST, so that what is tested is who may call, not the body.
    body = VALID_BODIES.get(route.path) or example_of(route)
    response = client.request(
        method, concrete(route.path), headers=headers, json=body if method == "POST" else None
    )
    return response.status_code


def test_every_service_has_guarded_routes(client: TestClient) -> None:
    assert guarded_routes(client.app)  # type: ignore[arg-type]


def test_no_token_is_401(client: TestClient) -> None:
    for route, _ in guarded_routes(client.app):  # type: ignore[arg-type]
        assert call(client, route, {}) == 401, route.path


def test_bad_token_is_401(client: TestClient) -> None:
    forged = jwt.encode(
        {
            "sub": "x",
            "role": "dsl",
            "schools": ["OAK"],
            "iss": "safeguard",
            "aud": "safeguard",
            "exp": 9999999999,
        },
        "not-the-deployment-key-but-long-enough-for-hs256",
        algorithm="HS256",
    )
    for headers in (
        {"Authorization": "Bearer not-a-jwt"},
        {"Authorization": f"Bearer {forged}"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
    ):
        for route, _ in guarded_routes(client.app):  # type: ignore[arg-type]
            response_code = call(client, route, headers)
            assert response_code == 401, (route.path, headers)


def test_expired_token_is_401(client: TestClient) -> None:
    expired = token(client, Role.DSL, ["OAK"], ttl=timedelta(seconds=-1))
    for route, _ in guarded_routes(client.app):  # type: ignore[arg-type]
        assert call(client, route, expired) == 401, route.path


def test_a_role_the_route_does_not_allow_is_403(client: TestClient) -> None:
    for route, allowed in guarded_routes(client.app):  # type: ignore[arg-type]
        for role in set(Role) - allowed:
            schools = ["*"] if role in (Role.TRUST_LEAD, Role.ADMIN, Role.AUDITOR) else ["OAK"]
            assert call(client, route, token(client, role, schools)) == 403, (route.path, role)


def test_a_case_that_does_not_exist_is_404(client: TestClient) -> None:
    for route, allowed in guarded_routes(client.app):  # type: ignore[arg-type]
        if "{case_id}" in route.path:
            role = sorted(allowed)[0]
            schools = ["*"] if role == Role.AUDITOR else ["OAK"]
            assert call(client, route, token(client, role, schools)) == 404, route.path


def test_tokens_for_every_school_are_only_for_trust_wide_roles(tmp_path) -> None:  # type: ignore[no-untyped-def]
    tokens = TokenService(StoreChoice("sqlite", tmp_path).settings())
    with pytest.raises(TokenError):
        tokens.issue("u", Role.DSL, ["*"])
    with pytest.raises(TokenError):
        tokens.issue("u", Role.STAFF, [])
    principal = tokens.verify(tokens.issue("u", Role.AUDITOR, ["*"]))
    assert principal.may_act_for("ELM")
    assert not tokens.verify(tokens.issue("u", Role.DSL, ["OAK"])).may_act_for("ELM")


def test_tokens_from_a_trust_identity_provider_are_checked_against_its_jwks(
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    import json
    import threading
    from datetime import UTC, datetime
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from cryptography.hazmat.primitives.asymmetric import rsa
    from jwt.algorithms import RSAAlgorithm

    provider_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(RSAAlgorithm.to_jwk(provider_key.public_key()))
    jwk.update(kid="trust-key-1", use="sig", alg="RS256")
    body = json.dumps({"keys": [jwk]}).encode()

    class Jwks(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Jwks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        settings = StoreChoice("sqlite", tmp_path).settings(
            jwks_url=f"http://127.0.0.1:{server.server_port}/jwks.json"
        )
        tokens = TokenService(settings)
        claims = {
            "sub": "dsl.idp",
            "role": "dsl",
            "schools": ["OAK"],
            "iss": "safeguard",
            "aud": "safeguard",
            "exp": int(datetime.now(UTC).timestamp()) + 600,
        }
        good = jwt.encode(claims, provider_key, algorithm="RS256", headers={"kid": "trust-key-1"})
        assert tokens.verify(good).user == "dsl.idp"
        forged = jwt.encode(claims, other_key, algorithm="RS256", headers={"kid": "trust-key-1"})
        with pytest.raises(TokenError):
            tokens.verify(forged)
        with pytest.raises(TokenError):
            tokens.issue("x", Role.DSL, ["OAK"])  # the provider issues tokens, not us
    finally:
        server.shutdown()
