"""The shape every entry of a case shares: who recorded it, and when it happened and was recorded.

Entries from step 3 on are kept on the case as the events themselves (immutable, with every
field the record holds), instead of a copy of each in a second class.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from eventsourcing.domain import Aggregate

from services.intake.domain.errors import check_occurred_before_recorded


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
    """An entry of a case. Each kind names the list of the case it is kept in."""

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
