"""What every entry of a case shares, in every service: who recorded it, when it happened
(``occurred_at``) and when it was recorded (``recorded_at``), so that a record written up later
from paper, after an outage, is honest about both.

Each kind of entry is declared once, as a :class:`CaseEntry` subclass in the module of its
policy step: its fields (typed with :mod:`shared.vocabulary`), the step, the route that records
it and who may send it, its rules (:meth:`CaseEntry.check`) and its words (:meth:`CaseEntry.words`).
The stored event is that class; the command is :meth:`CaseEntry.record`; the HTTP models and
route come from it (:func:`shared.http.add_entry_routes`). Entries are kept on their aggregate
as the events themselves (immutable, with every field the record holds), instead of a copy of
each in a second class.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Annotated, Any, ClassVar, Literal, get_args, get_origin, get_type_hints

from eventsourcing.domain import Aggregate

CLOCK_SKEW = timedelta(minutes=5)
"""How far ahead of the server a school computer's clock may run: its "now" is not refused as
the future. Beyond that, an occurred_at later than its recording is a mistake."""


class EntryError(ValueError):
    """An entry that breaks a rule of the record; the message says which."""


class NeedsReasonError(EntryError):
    """A change of an earlier entry, or a decision, without the reason for it; ``field`` names
    the field that should carry it."""

    def __init__(self, message: str, field: str = "reason") -> None:
        super().__init__(message)
        self.field = field


def check_occurred_before_recorded(occurred_at: datetime, recorded_at: datetime) -> None:
    if occurred_at.tzinfo is None:
        msg = "occurred_at needs a time zone"
        raise EntryError(msg)
    if occurred_at > recorded_at + CLOCK_SKEW:
        msg = "occurred_at is later than the time it was recorded"
        raise EntryError(msg)


@dataclass(frozen=True)
class Recording:
    """Who records an entry and when: it happened at ``occurred_at``, was recorded at
    ``recorded_at``; ``idempotency_key`` lets a retry find the entry its first attempt made."""

    recorded_by: str
    recorded_by_role: str
    occurred_at: datetime
    recorded_at: datetime
    idempotency_key: str = ""

    def __post_init__(self) -> None:
        check_occurred_before_recorded(self.occurred_at, self.recorded_at)

    def fields(self) -> dict[str, Any]:
        return vars(self).copy()


class AlreadyRecordedError(Exception):
    """What an entry would record is on the case already (the same DSL assigned again): the
    entry that recorded it is the answer, and nothing new is recorded."""

    def __init__(self, entry: CaseEntry) -> None:
        super().__init__(f"already recorded by a {type(entry).__name__} entry")
        self.entry = entry


COMMON_FIELDS = (
    "school",
    "reference",
    "recorded_by",
    "recorded_by_role",
    "occurred_at",
    "recorded_at",
    "idempotency_key",
)
"""The fields every entry has, filled from the case and the :class:`Recording`."""


class CaseEntry(Aggregate.Event):
    """An entry of a case, and the declaration of its kind (see the module's docstring).

    The aggregate keeps each entry in the list ``KEPT_IN`` names (begun by the first entry, if
    the aggregate did not begin it), and ``entry_keys``: each idempotency key and the entry it
    recorded. The aggregate has ``school`` and ``reference``.
    """

    KEPT_IN: ClassVar[str]
    STEP: ClassVar[int] = 0
    """The policy's step the entry belongs to (1-8; 0 for the records kept beside them)."""
    ROUTE: ClassVar[str] = ""
    """Where it is sent: ``POST /cases/{case_id}/<ROUTE>`` ("" for one no route records)."""
    RECORDED_BY: ClassVar[tuple[str, ...]] = ()
    """The roles that may send it (each a :class:`shared.identity.Role` value)."""
    WORKED_OUT: ClassVar[tuple[str, ...]] = ()
    """Fields the rules work out (:meth:`check`), so not sent."""
    SENT: ClassVar[dict[str, Any]] = {}
    """What is sent but not kept as it is sent (name: type, default in the type's
    ``Annotated`` as :class:`Default`); :meth:`check` turns it into what is kept."""
    PERSONAL_FIELDS: ClassVar[tuple[str, ...]] = ()
    """Fields encrypted at rest and in published contracts."""
    EXAMPLE: ClassVar[dict[str, Any]] = {}
    """An invented entry of this kind as it is sent: the route's example in its documentation."""

    school: str
    reference: str
    recorded_by: str
    recorded_by_role: str
    occurred_at: datetime
    recorded_at: datetime
    idempotency_key: str

    @classmethod
    def check(cls, case: Any, by: Recording, facts: dict[str, Any]) -> dict[str, Any]:
        """The policy's rules for this kind, against the case as it stands: raise an
        :class:`EntryError` naming the rule broken, or return the facts to keep (with the
        fields in :data:`WORKED_OUT`)."""
        del case, by
        return facts

    @classmethod
    def record(cls, case: Any, by: Recording, /, **facts: Any) -> None:
        """The command: record one entry of this kind on ``case``, if its words are the
        vocabulary's (:func:`check_vocabulary`) and :meth:`check` allows."""
        check_vocabulary(cls, facts)
        kept = cls.check(case, by, facts)
        case.trigger_event(cls, school=case.school, reference=case.reference, **by.fields(), **kept)

    def same_as(self, facts: dict[str, Any]) -> bool:
        """Whether ``facts``, sent again with this entry's idempotency key, are what it
        recorded (a retry) rather than other facts, or another kind, under a reused key."""
        kept = vars(self)
        return all(
            kept[name] == value if name in kept else name in self.SENT
            for name, value in facts.items()
        )

    def words(self) -> str:
        """The entry in words, for the chronology."""
        doc = type(self).__doc__ or ""
        return doc.strip().split("\n", 1)[0]

    @classmethod
    def kept_on(cls, case: Any) -> list[Any]:
        """The entries of this kind ``case`` holds, oldest first (none yet: an empty list)."""
        kept: list[Any] = vars(case).get(cls.KEPT_IN, [])
        return kept

    def apply(self, aggregate: Any) -> None:
        # A kind declared after a case was opened starts its list with its first entry, so a
        # new kind needs nothing written on the aggregate.
        vars(aggregate).setdefault(self.KEPT_IN, []).append(self)
        if self.idempotency_key:
            aggregate.entry_keys[self.idempotency_key] = self


def _allowed(annotation: Any) -> tuple[tuple[Any, ...], bool] | None:
    """The values a ``Literal`` field allows, and whether it holds a list of them."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) is Literal:
        return get_args(annotation), False
    if get_origin(annotation) in (list, tuple):
        inner = _allowed(get_args(annotation)[0])
        return (inner[0], True) if inner and not inner[1] else None
    return None


@cache
def _vocabulary(kind: type) -> dict[str, tuple[tuple[Any, ...], bool]]:
    hints = get_type_hints(kind, include_extras=True)
    declared = getattr(kind, "SENT", {})
    sent = get_type_hints(_Sent(declared), include_extras=True) if declared else {}
    return {
        name: allowed
        for name, annotation in {**hints, **sent}.items()
        if (allowed := _allowed(annotation)) is not None
    }


@cache
def _fields(kind: type) -> tuple[str, ...]:
    """What an entry of ``kind`` keeps and may be sent (not what every entry has)."""
    own = get_type_hints(kind)
    return tuple(name for name in own if name not in COMMON_FIELDS and name not in _EVENT)


_EVENT = ("originator_id", "originator_version", "timestamp")


class _Sent:
    """The annotations of a kind's sent-only fields, for :func:`get_type_hints`."""

    def __init__(self, sent: dict[str, Any]) -> None:
        self.__annotations__ = sent


def check_vocabulary(kind: type, facts: dict[str, Any]) -> None:
    """Refuse a fact the kind does not have, and a fact that is not one of its ``Literal``
    field's words, naming them: the vocabulary is declared once, on the field, and holds
    whether or not a request checked it. Nothing sent is dropped unread."""
    unknown = sorted(set(facts) - set(_fields(kind)) - set(getattr(kind, "SENT", {})))
    if unknown:
        msg = f"{', '.join(unknown)}: not a field of a {kind.__name__} entry"
        raise EntryError(msg)
    for name, (allowed, many) in _vocabulary(kind).items():
        if name not in facts:
            continue
        values = facts[name] if many else [facts[name]]
        if not isinstance(values, list | tuple) or any(v not in allowed for v in values):
            words = ", ".join(map(str, allowed))
            msg = f"{name} must be {'among' if many else 'one of'} {words}"
            raise EntryError(msg)


class KeyedSinceV2:
    """For a kind of entry first stored without an idempotency key (class version 1): such an
    entry loads with an empty key, as one sent without a key."""

    class_version = 2

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["idempotency_key"] = ""


@dataclass(frozen=True)
class Default:
    """In a field's ``Annotated``, the value a request that leaves the field out records."""

    value: Any
