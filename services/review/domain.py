"""Review's aggregate: one case record per case, holding its chronology."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate, event


@dataclass(frozen=True)
class ChronologyEntry:
    """One entry of a case's chronology: what, who, when it happened and when it was recorded."""

    kind: str
    summary: str
    actor: str
    actor_role: str
    occurred_at: datetime
    recorded_at: datetime
    source: str


class CaseRecord(Aggregate):
    """A case as review sees it: built from the intake and referral streams."""

    class Opened(Aggregate.Created):
        school: str
        reference: str

    class EntryRecorded(Aggregate.Event):
        PERSONAL_FIELDS: ClassVar[tuple[str, ...]] = ("summary",)

        kind: str
        summary: str
        actor: str
        actor_role: str
        occurred_at: datetime
        recorded_at: datetime
        source: str

    @event(Opened)
    def __init__(self, id: UUID, school: str, reference: str) -> None:
        self.school = school
        self.reference = reference
        self.entries: list[ChronologyEntry] = []

    @event(EntryRecorded)
    def record_entry(
        self,
        kind: str,
        summary: str,
        actor: str,
        actor_role: str,
        occurred_at: datetime,
        recorded_at: datetime,
        source: str,
    ) -> None:
        self.entries.append(
            ChronologyEntry(kind, summary, actor, actor_role, occurred_at, recorded_at, source)
        )

    def chronology(self) -> list[ChronologyEntry]:
        """Entries in the order things happened (then the order they were recorded): the
        intake and referral streams are consumed independently, so arrival order can differ."""
        return sorted(self.entries, key=lambda e: (e.occurred_at, e.recorded_at))
