"""Step 4: the DSL, and senior management, told of the incident; the DSL who takes the case."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.intake.domain.errors import IntakeError

AUDIENCES = ("dsl", "senior_management")
HOW = ("in_person", "phone", "written")
# Triage answers that mean immediate action is needed: the DSL is then told in person.
IMMEDIATE_ACTION = ("immediate_support_needed", "immediate_risk_of_harm")


@dataclass(frozen=True)
class Informed:
    """Someone in the DSL's team or senior management told of the incident."""

    audience: str
    person: str
    how: str
    minutes_after_disclosure: int
    reason: str
    recorded_by: str
    recorded_by_role: str
    occurred_at: datetime
    recorded_at: datetime


def check_informed(
    audience: str,
    how: str,
    person: str,
    occurred_at: datetime,
    disclosed_at: datetime,
    latest_triage: dict[str, object] | None,
) -> None:
    """The rules of step 4 for telling the DSL or senior management."""
    if audience not in AUDIENCES:
        msg = f"audience must be one of {', '.join(AUDIENCES)}"
        raise IntakeError(msg)
    if how not in HOW:
        msg = f"how must be one of {', '.join(HOW)}"
        raise IntakeError(msg)
    if not person.strip():
        msg = "person: who was told"
        raise IntakeError(msg)
    if occurred_at < disclosed_at:
        msg = "they cannot have been told before the disclosure was made"
        raise IntakeError(msg)
    urgent = [q for q in IMMEDIATE_ACTION if latest_triage and latest_triage.get(q) == "yes"]
    if audience == "dsl" and how != "in_person" and urgent:
        msg = (
            f"immediate action is needed (triage: {', '.join(urgent)} is yes): "
            "the DSL must be told in person"
        )
        raise ImmediateActionError(msg)


class ImmediateActionError(IntakeError):
    """Where immediate action is needed, the DSL is told in person (policy step 4)."""
