"""An action the policy asks of a case (a police referral, parents told…), as it stands: what
the latest assessment asks, by when, and the DSL's decision. Referral holds its own (with the
rules that open, reopen and drop them); review holds its view, read from referral's contracts;
both answer it alike (:class:`shared.http.ActionOut`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# An action's status, and the level of one the latest assessment no longer asks for.
OPEN, DONE, DECLINED = "open", "done", "declined"
NO_LONGER_REQUIRED = "no_longer_required"


@dataclass
class ActionState:
    """One action as it stands: what the latest assessment asks, by when, and the decision."""

    action: str
    level: str
    why: str
    declinable: bool
    required_since: datetime
    due_at: datetime
    policy_version: str
    status: str = OPEN
    decision: dict[str, Any] = field(default_factory=dict)
    history: list[str] = field(default_factory=list)

    @property
    def outstanding(self) -> bool:
        """Open, and still asked for by the latest assessment."""
        return self.status == OPEN and self.level != NO_LONGER_REQUIRED

    def overdue(self, now: datetime) -> bool:
        return self.outstanding and now > self.due_at
