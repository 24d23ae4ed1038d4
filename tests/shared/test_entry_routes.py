"""A kind of entry declared once gives its stored event, its command and its HTTP models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal

import pytest
from eventsourcing.domain import Aggregate
from pydantic import ValidationError

from shared.entries import AlreadyRecordedError, CaseEntry, Default, EntryError, Recording
from shared.entry_routes import entry_in, entry_out
from shared.vocabulary import Doc, Note, Pseudonym, Words

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
BY = Recording("dsl.invented", "dsl", NOW, NOW, "dsl.invented:k1")


class Case(Aggregate):
    def __init__(self, school: str, reference: str) -> None:
        self.school = school
        self.reference = reference
        self.spoken_to: list[SpokenTo] = []
        self.entry_keys: dict[str, CaseEntry] = {}


class SpokenTo(CaseEntry):
    """Invented kind: a young person spoken to."""

    KEPT_IN = "spoken_to"
    ROUTE = "spoken-to"
    RECORDED_BY = ("dsl",)
    WORKED_OUT = ("times",)
    SENT: ClassVar[dict[str, Any]] = {"urgent": Annotated[bool, Default(False)]}

    pseudonym: Annotated[Pseudonym, Doc("Who was spoken to.")]
    what: Words
    times: int
    note: Note = ""

    @classmethod
    def check(cls, case: Any, by: Recording, facts: dict[str, Any]) -> dict[str, Any]:
        """Refused when the young person was spoken to twice already."""
        facts.pop("urgent")
        times = 1 + sum(1 for e in case.spoken_to if e.pseudonym == facts["pseudonym"])
        if times > 2:
            msg = "spoken to twice already"
            raise EntryError(msg)
        same = [e for e in case.spoken_to if e.what == facts["what"]]
        if same:
            raise AlreadyRecordedError(same[0])
        return {**facts, "times": times}


def test_what_is_sent_is_the_kept_fields_less_the_worked_out_plus_the_sent_only() -> None:
    model = entry_in(SpokenTo)
    assert set(model.model_fields) == {"occurred_at", "pseudonym", "what", "note", "urgent"}
    assert model.model_fields["pseudonym"].description == "Who was spoken to."
    assert model.model_fields["note"].default == ""
    assert model.model_fields["urgent"].default is False
    sent = model(pseudonym="YP-1", what="Invented words")
    assert sent.model_dump(exclude={"occurred_at"}) == {
        "pseudonym": "YP-1",
        "what": "Invented words",
        "note": "",
        "urgent": False,
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"pseudonym": "Jo Bloggs", "what": "Invented"}, "pseudonym"),
        ({"pseudonym": "YP-1", "what": "   "}, "what"),
        ({"pseudonym": "YP-1", "what": "data:image/png;base64,iVBORw0KGgo="}, "what"),
        ({"pseudonym": "YP-1", "what": "x", "times": 3}, "times"),
    ],
)
def test_the_vocabulary_checks_what_is_sent(body: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        entry_in(SpokenTo)(**body)
    assert field in {str(e["loc"][0]) for e in refused.value.errors()}


def test_what_is_answered_is_every_kept_field_and_who_recorded_it() -> None:
    case = Case(school="OAK", reference="OAK-2026-0001")
    SpokenTo.record(case, BY, pseudonym="YP-1", what="Invented", note="", urgent=True)
    entry = case.spoken_to[0]
    assert (entry.times, entry.school, entry.idempotency_key) == (1, "OAK", "dsl.invented:k1")
    assert case.entry_keys["dsl.invented:k1"] is entry
    out = entry_out(SpokenTo).of(entry)
    assert out.model_dump() == {
        "recorded_by": "dsl.invented",
        "recorded_by_role": "dsl",
        "occurred_at": NOW,
        "recorded_at": NOW,
        "pseudonym": "YP-1",
        "what": "Invented",
        "times": 1,
        "note": "",
    }


def test_the_rules_refuse_or_answer_with_the_entry_already_recorded() -> None:
    case = Case(school="OAK", reference="OAK-2026-0001")
    for what in ("one", "two"):
        SpokenTo.record(case, BY, pseudonym="YP-1", what=what, note="", urgent=False)
    with pytest.raises(EntryError, match="twice already"):
        SpokenTo.record(case, BY, pseudonym="YP-1", what="three", note="", urgent=False)
    with pytest.raises(AlreadyRecordedError) as again:
        SpokenTo.record(case, BY, pseudonym="YP-2", what="one", note="", urgent=False)
    assert again.value.entry is case.spoken_to[0]
    assert case.spoken_to[0].same_as({"what": "one", "urgent": True})
    assert not case.spoken_to[0].same_as({"what": "other"})


class Told(CaseEntry):
    """Invented kind with a vocabulary."""

    KEPT_IN = "spoken_to"
    SENT: ClassVar[dict[str, Any]] = {"urgency": Literal["now", "later"]}

    how: Literal["in_person", "phone"]
    roles: list[Literal["sender", "recipient"]]


@pytest.mark.parametrize(
    ("facts", "message"),
    [
        ({"how": "email", "roles": ["sender"], "urgency": "now"}, "how must be one of in_person"),
        ({"how": "phone", "roles": ["pictured"], "urgency": "now"}, "roles must be among sender"),
        ({"how": "phone", "roles": [], "urgency": "soon"}, "urgency must be one of now, later"),
    ],
)
def test_the_domain_holds_a_kinds_vocabulary_without_a_request(
    facts: dict[str, Any], message: str
) -> None:
    case = Case(school="OAK", reference="OAK-2026-0001")
    with pytest.raises(EntryError, match=message):
        Told.record(case, BY, **facts)
    assert case.spoken_to == []


def test_every_kind_s_example_is_what_its_route_takes_and_documents() -> None:
    from services.intake.domain import ENTRY_KINDS as INTAKE
    from services.referral.domain import ENTRY_KINDS as REFERRAL

    with_examples = [kind for kind in (*INTAKE, *REFERRAL) if kind.EXAMPLE]
    assert with_examples
    for kind in with_examples:
        model = entry_in(kind)
        model.model_validate(kind.EXAMPLE)
        assert model.model_json_schema()["examples"] == [kind.EXAMPLE]
    with pytest.raises(ValidationError):
        entry_in(with_examples[0]).model_validate({**with_examples[0].EXAMPLE, "unknown": 1})
