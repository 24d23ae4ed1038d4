"""An entry of a kind with no contract of its own is published by its declaration, and review
shows it in the case's chronology in its producer's words."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from eventsourcing.domain import Aggregate

from services.review.domain.chronology import describe
from shared.contracts import decode
from shared.contracts.intake import IntakeEntryRecordedV1
from shared.entries import CaseEntry, Recording
from shared.publishing import contract_mapper, snake_case

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


class Case(Aggregate):
    def __init__(self) -> None:
        self.school = "OAK"
        self.reference = "OAK-2026-0001"
        self.talks: list[CaseEntry] = []
        self.entry_keys: dict[str, CaseEntry] = {}


class InventedTalkHeld(CaseEntry):
    """Invented: a talk held."""

    KEPT_IN = "talks"
    STEP = 7
    PERSONAL_FIELDS = ("with_whom",)

    with_whom: str
    minutes: int

    def words(self) -> str:
        return f"Talk with {self.with_whom}, {self.minutes} min"


def test_a_kind_with_no_contract_is_published_by_its_declaration() -> None:
    case = Case()
    InventedTalkHeld.record(
        case, Recording("dsl.oak", "dsl", NOW, NOW, "dsl.oak:k"), with_whom="YP-1", minutes=20
    )
    to_contract = contract_mapper({}, declared=IntakeEntryRecordedV1)
    published = to_contract(case.talks[0])
    assert isinstance(published, IntakeEntryRecordedV1)
    assert (published.kind, published.step) == ("invented_talk_held", 7)
    assert published.summary == "Talk with YP-1, 20 min"
    assert json.loads(published.facts) == {"with_whom": "YP-1", "minutes": 20}
    assert "dsl.oak:k" not in published.model_dump_json()  # never its idempotency key
    # What review reads off the stream, and shows.
    read: Any = decode(published.subject, published.model_dump_json().encode())
    described = describe(read)
    assert described is not None
    assert (described.kind, described.summary) == ("invented_talk_held", "Talk with YP-1, 20 min")
    # An event that is no entry stays private.
    assert to_contract(object()) is None


def test_snake_case() -> None:
    assert snake_case("ParentsSpokenTo") == "parents_spoken_to"


class InventedCallMade(CaseEntry):
    """Invented: a call made."""

    KEPT_IN = "calls"
    STEP = 5

    to: str


def test_a_kind_declared_after_the_case_was_opened_begins_its_list_with_its_first_entry() -> None:
    case = Case()  # opened with no list of calls: the kind is newer than the case
    assert InventedCallMade.kept_on(case) == []
    by = Recording("dsl.oak", "dsl", NOW, NOW, "")
    InventedCallMade.record(case, by, to="Invented school nurse")
    InventedCallMade.record(case, by, to="Invented parent")
    assert [call.to for call in InventedCallMade.kept_on(case)] == [
        "Invented school nurse",
        "Invented parent",
    ]
    assert InventedTalkHeld.kept_on(case) == []
