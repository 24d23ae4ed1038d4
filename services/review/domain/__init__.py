"""Review's aggregate: one case record per case, holding its chronology as a hash chain.

Every entry keeps, besides its words, the message it came from (``subject`` and ``payload``: the
upstream contract as published, or review's own entry), so that any view of the case at any
moment is a fold of its entries recorded by then, and keeps the hash that chains it to the entry
before (:mod:`services.review.domain.chain`).

The aggregate lives in this module itself, so that the topics of stored events stay
``services.review.domain:CaseRecord.…``. Beside it, one module per policy step and record,
pure (no store, no clock, nothing of the application, adapters or entrypoint):

- :mod:`~services.review.domain.containment`: step 7's entries;
- :mod:`~services.review.domain.review_and_closure`: step 8's entries, and when a case may be
  closed or reopened;
- :mod:`~services.review.domain.file_transfer`: the child-protection file sent to a new school
  and its receipt, due in five school days;
- :mod:`~services.review.domain.access_log`: every read of a case;
- :mod:`~services.review.domain.own_entries`: what each of those kinds of entry declares;
- :mod:`~services.review.domain.chronology`: the upstream contracts in words;
- :mod:`~services.review.domain.actions` and :mod:`~services.review.domain.case_view`: a case
  folded from its entries, as it stands or as it stood;
- :mod:`~services.review.domain.said`: what every entry says, declared once;
- :mod:`~services.review.domain.chain`: the hash chain.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from services.review.domain.chain import GENESIS, entry_hash
from services.review.domain.said import EntrySaid

__all__ = ["GENESIS", "OWN_SUBJECT_PREFIX", "CaseRecord", "SchoolCases", "entry_hash"]

OWN_SUBJECT_PREFIX = "review."
"""The subject of review's own entries: ``review.<kind>``; upstream ones keep their contract's."""


class CaseRecord(Aggregate):
    """A case as review sees it: built from the intake and referral streams, and review's own
    entries (steps 7 and 8, and every read of the case)."""

    class Opened(Aggregate.Created):
        school: str
        reference: str

    @event(Opened)
    def __init__(self, id: UUID, school: str, reference: str) -> None:
        self.school = school
        self.reference = reference
        self.entries: list[CaseRecord.EntryRecorded] = []

    class EntryRecorded(Aggregate.Event, EntrySaid):
        """One entry of the chronology: what it says (:class:`EntrySaid`: what, who, when it
        happened and when it was recorded), where it came from, the message itself, and its
        place in the hash chain."""

        # EntrySaid's fields come first in what is stored since they were declared there;
        # entries stored before keep their order. Nothing reads the order: the hash covers the
        # chained fields by name (chain.CHAINED_FIELDS), and a stored event is read by name.
        class_version = 2
        PERSONAL_FIELDS: ClassVar[tuple[str, ...]] = ("summary", "payload")

        school: str
        reference: str
        source: str
        subject: str
        payload: str
        previous_hash: str
        hash: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """The first build kept the words only: no message, no place in a chain."""
            state.update(
                school="", reference="", number=0, subject="", payload="", previous_hash="", hash=""
            )

        def apply(self, aggregate: Any) -> None:
            aggregate.entries.append(self)

    def record_entry(
        self,
        *,
        kind: str,
        summary: str,
        actor: str,
        actor_role: str,
        occurred_at: datetime,
        recorded_at: datetime,
        source: str,
        subject: str,
        payload: str,
    ) -> None:
        """Add the next entry, chained to the one before it."""
        # One dict: the event's fields, of which entry_hash reads the chained ones.
        fields: dict[str, Any] = {
            "school": self.school,
            "reference": self.reference,
            "number": len(self.entries) + 1,
            "kind": kind,
            "summary": summary,
            "actor": actor,
            "actor_role": actor_role,
            "occurred_at": occurred_at,
            "recorded_at": recorded_at,
            "source": source,
            "subject": subject,
            "payload": payload,
            "previous_hash": self.entries[-1].hash if self.entries else GENESIS,
        }
        fields["hash"] = entry_hash(fields)
        self.trigger_event(self.EntryRecorded, **fields)

    def record_own(self, *, kind: str, payload: str, **said: Any) -> None:
        """Add one of review's own entries (steps 7 and 8, a transfer, a read of the case),
        ``said`` as :meth:`record_entry` takes it: its subject is ``review.<kind>``, its
        source review itself, its payload the entry's facts as JSON."""
        self.record_entry(
            kind=kind,
            source=f"review:{self.id}:{len(self.entries) + 1}",
            subject=f"{OWN_SUBJECT_PREFIX}{kind}",
            payload=payload,
            **said,
        )

    def chronology(self, as_of: datetime | None = None) -> list[EntryRecorded]:
        """Entries in the order things happened (then the order they were recorded); with
        ``as_of``, only those on record by then. The intake and referral streams are consumed
        independently, so arrival order can differ from either."""
        entries = self.entries if as_of is None else self.on_record(as_of)
        return sorted(entries, key=lambda e: (e.occurred_at, e.recorded_at))

    def on_record(self, as_of: datetime) -> list[EntryRecorded]:
        """The entries on record at ``as_of``, in the order they were recorded."""
        return sorted(
            (e for e in self.entries if e.recorded_at <= as_of), key=lambda e: e.recorded_at
        )


_SCHOOL_CASES = uuid5(NAMESPACE_URL, "https://safeguard.invalid/review/school-cases/")


class SchoolCases(Aggregate):
    """The cases of one school, in the order review opened them: an index, so that a school's
    case list reads one small aggregate and that school's cases, never every case in the store.

    Only the consumers add to it, in the same transaction as a case's first entry."""

    class Started(Aggregate.Created):
        school: str

    @event(Started)
    def __init__(self, school: str) -> None:
        self.school = school
        self.case_ids: list[UUID] = []

    @staticmethod
    def create_id(school: str) -> UUID:
        return uuid5(_SCHOOL_CASES, school)

    class CaseAdded(Aggregate.Event):
        case_id: UUID

    @event(CaseAdded)
    def add_case(self, case_id: UUID) -> None:
        self.case_ids.append(case_id)
