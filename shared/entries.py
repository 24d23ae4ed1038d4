"""What every entry of a case shares, in every service: who recorded it, when it happened
(``occurred_at``) and when it was recorded (``recorded_at``), so that a record written up later
from paper, after an outage, is honest about both.

Entries are kept on their aggregate as the events themselves (immutable, with every field the
record holds), instead of a copy of each in a second class.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

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


class CaseEntry(Aggregate.Event):
    """An entry of a case. Each kind names the list of its aggregate it is kept in, and the
    aggregate keeps ``entry_keys``: each idempotency key and the entry it recorded."""

    KEPT_IN: ClassVar[str]

    school: str
    reference: str
    recorded_by: str
    recorded_by_role: str
    occurred_at: datetime
    recorded_at: datetime
    idempotency_key: str

    def apply(self, aggregate: Any) -> None:
        getattr(aggregate, self.KEPT_IN).append(self)
        if self.idempotency_key:
            aggregate.entry_keys[self.idempotency_key] = self
