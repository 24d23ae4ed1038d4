"""Review's own entries: what each kind declares, and how its facts are kept.

Each kind is declared once, as an :class:`OwnKind` (a frozen dataclass) in the module of its
policy step: step 7 in :mod:`~services.review.domain.containment`, step 8 in
:mod:`~services.review.domain.review_and_closure`, the child-protection file's move in
:mod:`~services.review.domain.file_transfer`, every read of a case in
:mod:`~services.review.domain.access_log`. Its fields, typed with :mod:`shared.vocabulary`, are
the facts it keeps; its ``ClassVar`` s say the stored kind, the step, the route that records it
and who may send it; :meth:`OwnKind.words` is its line in the chronology and
:meth:`OwnKind.check` its rules against the case as it stands. The HTTP models and routes are
made from it (:mod:`services.review.entrypoint.steps`).

Each is a :class:`~services.review.domain.CaseRecord` entry on subject ``review.<kind>`` whose
payload is ``{"facts": {...}, "key": "<user>:<Idempotency-Key>"}``: the facts as sent (codes and
words, never an image), and the key a retry is matched by.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Self

from shared.entries import EntryError, check_vocabulary


@dataclass(frozen=True)
class OwnKind:
    """A kind of review's own entry, and the facts of one (see the module's docstring)."""

    KIND: ClassVar[str]
    """The stored kind: the entry's ``kind``, and its subject ``review.<KIND>``."""
    STEP: ClassVar[int] = 0
    """The policy's step (7 or 8; 0 for the records kept beside them)."""
    ROUTE: ClassVar[str] = ""
    """Where it is sent: ``POST /cases/{case_id}/<ROUTE>`` ("" for one no route records)."""
    RECORDED_BY: ClassVar[tuple[str, ...]] = ("dsl", "head")
    """The roles that may send it (each a :class:`shared.identity.Role` value)."""
    SENT: ClassVar[dict[str, Any]] = {}
    """Nothing is sent that is not kept as sent (as :class:`shared.entries.CaseEntry` reads)."""

    def __post_init__(self) -> None:
        # The vocabulary of the kind's fields, as a CaseEntry's is checked.
        check_vocabulary(type(self), vars(self))

    @classmethod
    def of(cls, facts: Mapping[str, Any]) -> Self:
        """The entry ``facts`` (as sent, JSON-ready) describe; refused (:class:`EntryError`)
        when a fact is missing, unknown, or not one of its field's words."""
        names = {f.name for f in dataclasses.fields(cls)}
        if unknown := sorted(set(facts) - names):
            msg = f"{cls.KIND} keeps no {', '.join(unknown)}"
            raise EntryError(msg)
        try:
            return cls(**facts)
        except TypeError:
            missing = sorted(f.name for f in _required(cls) if f.name not in facts)
            msg = f"{cls.KIND} needs {', '.join(missing)}"
            raise EntryError(msg) from None

    def check(self, case: Any, occurred_at: datetime | None) -> None:
        """The policy's rules for this kind against ``case``, the case's view as it stands
        (:class:`~services.review.domain.case_view.CaseView`), for an entry said to have
        happened at ``occurred_at`` (None: now): raise an :class:`EntryError` naming the rule
        broken. Most kinds have none."""
        del case, occurred_at

    @classmethod
    def has_rules(cls) -> bool:
        """Whether :meth:`check` reads the case: if not, the case's view is not folded for it
        (a read is recorded on every read of a case)."""
        return cls.check is not OwnKind.check

    def words(self) -> str:
        """The entry in words, for the chronology."""
        raise NotImplementedError


def _required(kind: type[OwnKind]) -> list[dataclasses.Field[Any]]:
    return [
        f
        for f in dataclasses.fields(kind)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]


@dataclass(frozen=True)
class OwnEntry:
    """One of review's own entries as the case's view keeps it, with its facts as stored
    (an entry recorded under older rules is kept as it is, never refused on the way out)."""

    number: int
    kind: str
    actor: str
    actor_role: str
    occurred_at: datetime
    recorded_at: datetime
    facts: dict[str, Any]


def own_payload(facts: Mapping[str, Any], key: str = "") -> str:
    """An own entry's payload: its facts and the (user-scoped) idempotency key, as canonical
    JSON so that the hash chain covers exactly what was sent."""
    return json.dumps(
        {"facts": dict(facts), "key": key}, sort_keys=True, separators=(",", ":"), default=str
    )


def own_facts(payload: str) -> tuple[dict[str, Any], str]:
    """An own entry's facts and idempotency key, from its payload."""
    data = json.loads(payload) if payload else {}
    return dict(data.get("facts", {})), str(data.get("key", ""))


def spoken(code: str) -> str:
    """A code in words: ``video_call`` is "video call"."""
    return code.replace("_", " ")


def with_note(text: str, note: str) -> str:
    """An entry's words, and its note if it has one."""
    return f"{text}; note: {note}" if note else text
