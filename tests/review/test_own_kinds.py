"""Review's own entries, each kind declared once in the domain module of its step: what is
sent to a route is stored byte for byte as before the declarations (the payload is hashed into
the chain), in the same words, and the domain imports nothing of the layers above it."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.review.domain.case_view import OWN_KINDS
from services.review.domain.containment import SupportGiven
from services.review.domain.file_transfer import FileSent
from services.review.domain.own_entries import OwnKind, own_payload
from services.review.domain.review_and_closure import CaseReopened
from shared.entries import EntryError, NeedsReasonError
from shared.entry_routes import entry_in
from tests.review.conftest import bearer, reviews_of
from tests.review.story import T0, Story, minutes

DOMAIN = Path(__file__).parents[2] / "services" / "review" / "domain"
KEY = "dsl.oak:k-1"

# Each route's body, and the payload and words the hand-written models of the release before
# the declarations stored for it (produced by that release, with KEY).
STORED_BEFORE: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "support",
        {
            "pseudonym": "YP-1",
            "kind": "safety_plan",
            "given_by": "Head of Year",
            "detail": "Invented: daily check-in",
        },
        '{"facts":{"detail":"Invented: daily check-in","given_by":"Head of Year",'
        '"kind":"safety_plan","pseudonym":"YP-1"},"key":"dsl.oak:k-1"}',
        "Support for YP-1 (safety plan) by Head of Year: Invented: daily check-in",
    ),
    (
        "staff-informed",
        {"staff": "Year 9 tutors", "what_and_why": "Invented: to watch for comments"},
        '{"facts":{"staff":"Year 9 tutors","what_and_why":"Invented: to watch for comments"},'
        '"key":"dsl.oak:k-1"}',
        "Staff informed (Year 9 tutors): Invented: to watch for comments",
    ),
    (
        "parents-conversations",
        {"pseudonym": "YP-1", "with_whom": "mother", "how": "video_call", "what_was_said": "x"},
        '{"facts":{"how":"video_call","pseudonym":"YP-1","what_was_said":"x",'
        '"with_whom":"mother"},"key":"dsl.oak:k-1"}',
        "Parents or carers of YP-1 spoken to (mother, video call): x",
    ),
    (
        "education-sessions",
        {"audience": "Year 9", "topic": "Invented: consent", "delivered_by": "PC Invented"},
        '{"facts":{"audience":"Year 9","delivered_by":"PC Invented","topic":"Invented: consent"},'
        '"key":"dsl.oak:k-1"}',
        "Education session for Year 9, by PC Invented: Invented: consent",
    ),
    (
        "removal-help",
        {"pseudonym": "YP-1", "service": "ncmec_take_it_down", "status": "used", "note": "x"},
        '{"facts":{"note":"x","pseudonym":"YP-1","service":"ncmec_take_it_down",'
        '"status":"used"},"key":"dsl.oak:k-1"}',
        "NCMEC Take It Down used for YP-1; note: x",
    ),
    (
        "site-removals",
        {"site": "Invented app", "status": "requested", "their_reference": "T-1"},
        '{"facts":{"note":"","site":"Invented app","status":"requested",'
        '"their_reference":"T-1"},"key":"dsl.oak:k-1"}',
        "Removal from Invented app: requested, the site's reference T-1",
    ),
    (
        "reviews",
        {"what_worked": "Invented: a", "what_did_not_work": "b", "procedure_changes": "c"},
        '{"facts":{"procedure_changes":"c","what_did_not_work":"b","what_worked":"Invented: a"},'
        '"key":"dsl.oak:k-1"}',
        "Review of outcomes and procedures: worked: Invented: a; did not: b; "
        "changes to procedure: c",
    ),
    ("closure", {}, '{"facts":{"note":""},"key":"dsl.oak:k-1"}', "Case closed"),
    (
        "reopening",
        {"reason": "Invented: new facts"},
        '{"facts":{"reason":"Invented: new facts"},"key":"dsl.oak:k-1"}',
        "Case reopened: Invented: new facts",
    ),
    (
        "transfers",
        {
            "pseudonym": "YP-1",
            "to_school": "ELM",
            "to_whom": "Their DSL",
            "method": "hand_delivered",
            "note": "Invented",
        },
        '{"facts":{"method":"hand_delivered","note":"Invented","pseudonym":"YP-1",'
        '"to_school":"ELM","to_whom":"Their DSL"},"key":"dsl.oak:k-1"}',
        "Child-protection file of YP-1 sent to ELM, for Their DSL, by hand delivery, signed "
        "for; note: Invented",
    ),
    (
        "transfers/confirmations",
        {"confirmed_by": "Ms A. Invented", "transfer": 7},
        '{"facts":{"confirmed_by":"Ms A. Invented","note":"","transfer":7},"key":"dsl.oak:k-1"}',
        "Receipt of the child-protection file (the file sent in entry 7) confirmed by "
        "Ms A. Invented",
    ),
]


def routed(route: str) -> type[OwnKind]:
    (kind,) = [k for k in OWN_KINDS.values() if route == k.ROUTE]
    return kind


@pytest.mark.parametrize(("route", "body", "payload", "words"), STORED_BEFORE)
def test_what_a_route_stores_is_what_it_stored_before_the_declarations(
    route: str, body: dict[str, Any], payload: str, words: str
) -> None:
    kind = routed(route)
    facts = entry_in(kind)(**body).model_dump(mode="json", exclude={"occurred_at"})
    assert own_payload(facts, KEY) == payload
    assert kind.of(facts).words() == words


def test_a_support_entry_sent_is_stored_as_it_was_before(client: TestClient) -> None:
    story = Story(reviews_of(client))
    story.reviews.clock = lambda: T0 + minutes(10)
    story.disclosure(T0)
    route, body, payload, words = STORED_BEFORE[0]
    answer = client.post(
        f"/cases/{story.case_id}/{route}",
        json=body,
        headers={**bearer(client, user="dsl.oak"), "Idempotency-Key": "k-1"},
    )
    assert answer.status_code == 201, answer.text
    stored = story.reviews.get_case(story.case_id).entries[-1]
    assert (stored.kind, stored.subject) == ("support_given", "review.support_given")
    assert (stored.payload, stored.summary) == (payload, words)


def test_each_kind_is_declared_once_under_its_stored_name() -> None:
    assert set(OWN_KINDS) == {
        "support_given",
        "staff_informed",
        "parents_spoken_to",
        "education_session",
        "removal_help",
        "site_removal",
        "review_recorded",
        "case_closed",
        "case_reopened",
        "child_protection_file_sent",
        "child_protection_file_received",
        "case_read",
    }
    routes = [k.ROUTE for k in OWN_KINDS.values() if k.ROUTE]
    assert sorted(routes) == sorted(route for route, *_ in STORED_BEFORE)
    assert {k.STEP for k in OWN_KINDS.values() if k.ROUTE in {"support", "reviews"}} == {7, 8}


def test_the_domain_refuses_facts_its_declaration_does_not_take() -> None:
    sent = {"pseudonym": "YP-1", "kind": "pastoral", "given_by": "Head", "detail": "Daily"}
    assert SupportGiven.of(sent).words() == "Support for YP-1 (pastoral) by Head: Daily"
    with pytest.raises(EntryError, match="keeps no colour"):
        SupportGiven.of({**sent, "colour": "red"})
    with pytest.raises(EntryError, match="needs detail, given_by"):
        SupportGiven.of({"pseudonym": "YP-1", "kind": "pastoral"})
    # A Literal field's words hold in the domain, whether or not a request checked them.
    with pytest.raises(EntryError, match="kind must be one of pastoral"):
        SupportGiven.of({**sent, "kind": "hugs"})
    with pytest.raises(EntryError, match="method must be one of"):
        FileSent.of({"pseudonym": "YP-1", "to_school": "ELM", "to_whom": "x", "method": "fax"})
    with pytest.raises(NeedsReasonError, match="needs the reason"):
        CaseReopened.of({"reason": "  "})


FORBIDDEN = (
    "services.review.application",
    "services.review.adapters",
    "services.review.entrypoint",
    "ops",
    "fastapi",
    "httpx",
    "faststream",
)


@pytest.mark.parametrize("module", sorted(DOMAIN.glob("*.py")), ids=lambda p: p.name)
def test_the_domain_imports_nothing_above_it(module: Path) -> None:
    tree = ast.parse(module.read_text())
    imported = [
        name
        for node in ast.walk(tree)
        for name in (
            [a.name for a in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else []
        )
    ]
    assert imported, "a module of the domain imports something"
    assert [n for n in imported if n.startswith(FORBIDDEN)] == []
