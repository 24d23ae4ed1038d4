"""What review's case routes answer, kept: the invented case of :mod:`tests.review.every_entry`
recorded over HTTP at fixed times, and every answer about it (each entry recorded, the case's
view and chronology now and as they stood, the school's list and overdue, the JSON export,
the hash chain) compared with ``golden_http.json``; and the OpenAPI schemas of review's own
answers with ``golden_openapi.json``. A change of what a route answers must be meant, and made
here too.

Regenerate the files (only for a change that is meant) with
``python -m tests.review.test_golden_http``."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from dataclasses import is_dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from fastapi.testclient import TestClient
from pydantic import BaseModel

import services.review.adapters.export
import services.review.entrypoint.cases
import services.review.entrypoint.common
import services.review.entrypoint.steps
from services.review.entrypoint import create_app
from shared.identity import Role
from tests.conftest import StoreChoice
from tests.review.conftest import bearer, reviews_of
from tests.review.every_entry import CASE_ID, OWN, own_at, tell_upstream, upstream_at
from tests.review.story import Story, action

GOLDEN_HTTP = Path(__file__).with_name("golden_http.json")
GOLDEN_OPENAPI = Path(__file__).with_name("golden_openapi.json")
OVERDUE_CASE = UUID("0b6f3a52-9c1d-4e7a-8f20-5d3c2b1a0e98")
_MODULES = (
    services.review.adapters.export,
    services.review.entrypoint.cases,
    services.review.entrypoint.common,
    services.review.entrypoint.steps,
)


def answers(client: TestClient) -> list[dict[str, Any]]:
    """Every answer about the invented case (and one with overdue actions and an unconfirmed
    transfer), in order, each with what was asked, its status, its ETag and its body."""
    reviews = reviews_of(client)
    tell_upstream(reviews)
    overdue = Story(reviews, case_id=OVERDUE_CASE, reference="OAK-9")
    overdue.disclosure(upstream_at(0)).assessed(
        upstream_at(2), action("police", "required", 60, declinable=False), action("ceop")
    )
    kept: list[dict[str, Any]] = []

    def ask(method: str, path: str, at: datetime, role: Role = Role.DSL, **kwargs: Any) -> None:
        reviews.clock = lambda: at
        response = client.request(
            method, path, headers={**bearer(client, role), **kwargs.pop("headers", {})}, **kwargs
        )
        kept.append(
            {
                "asked": f"{method} {path} {kwargs.get('params', '')}".strip(),
                "status": response.status_code,
                "etag": response.headers.get("ETag"),
                "body": response.json(),
            }
        )

    for index, (route, body) in enumerate(OWN):
        at = own_at(index)
        ask(
            "POST",
            f"/cases/{CASE_ID}/{route}",
            at + timedelta(minutes=1),
            json={**body, "occurred_at": at.isoformat()},
            headers={"Idempotency-Key": f"k-{index}"},
        )
    # A retry answers with its first attempt's entry.
    ask(
        "POST",
        f"/cases/{CASE_ID}/{OWN[0][0]}",
        own_at(len(OWN)),
        json={**OWN[0][1], "occurred_at": own_at(0).isoformat()},
        headers={"Idempotency-Key": "k-0"},
    )
    overdue_at = own_at(0) + timedelta(minutes=2)
    ask(
        "POST",
        f"/cases/{OVERDUE_CASE}/transfers",
        overdue_at,
        json={"pseudonym": "YP-9", "to_school": "ELM", "to_whom": "DSL", "method": "secure_email"},
    )
    now = own_at(len(OWN)) + timedelta(days=8)
    as_of = {"as_of": upstream_at(40).isoformat()}
    for path in (f"/cases/{CASE_ID}", f"/cases/{CASE_ID}/chronology"):
        ask("GET", path, now)
        ask("GET", path, now, Role.AUDITOR, params=as_of)
    ask("GET", f"/cases/{OVERDUE_CASE}", now)
    ask("GET", "/cases", now, params={"school": "OAK"})
    ask("GET", "/overdue", now)
    ask("GET", f"/cases/{CASE_ID}/export.json", now, Role.AUDITOR)
    ask("GET", f"/cases/{CASE_ID}/export.json", now, params=as_of)
    ask("GET", f"/cases/{CASE_ID}/chain", now, Role.AUDITOR)
    return kept


def review_schemas(client: TestClient, names: Iterable[str] = ()) -> dict[str, Any]:
    """The OpenAPI schemas of ``names``; by default, of the answers review's own modules
    declare (pydantic models and dataclasses)."""
    names = set(names) or {
        name
        for module in _MODULES
        for name, value in vars(module).items()
        if isinstance(value, type)
        and (issubclass(value, BaseModel) or is_dataclass(value))
        and value.__module__ == module.__name__
    }
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    return {name: schemas.get(name) for name in sorted(names)}


def test_every_answer_about_the_case_is_as_it_was(client: TestClient) -> None:
    expected = json.loads(GOLDEN_HTTP.read_text())
    got = answers(client)
    assert [a["asked"] for a in got] == [a["asked"] for a in expected]
    for answer, kept in zip(got, expected, strict=True):
        assert answer == kept, answer["asked"]


def test_the_schemas_of_reviews_answers_are_as_they_were(client: TestClient) -> None:
    expected = json.loads(GOLDEN_OPENAPI.read_text())
    assert len(expected) >= 10
    assert review_schemas(client, expected) == expected


def _write(var: Path) -> None:
    with TestClient(create_app(StoreChoice("sqlite", var).settings())) as client:
        GOLDEN_HTTP.write_text(json.dumps(answers(client), indent=1, ensure_ascii=False) + "\n")
        GOLDEN_OPENAPI.write_text(json.dumps(review_schemas(client), indent=1) + "\n")


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as var:
        _write(Path(var))
    sys.exit(0)
