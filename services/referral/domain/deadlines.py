"""When an outstanding action's deadline has lapsed, whom it is escalated to: the DSL as soon as
it is overdue, then the head if it is still outstanding some time later.

How much later is a rule of each policy version, not a deployment setting: it says what the
school must do when a deadline is missed, so an auditor replaying a case must be able to read the
rule that was in force from the record itself (each escalation names its version and rule), and
a trust cannot quietly loosen it. The version's rule is "as long again as the action allowed
(times the multiple below)": an immediate referral (60 minutes) reaches the head an hour after
its deadline, telling the parents (a day) a day after.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.referral.domain.actions import Action

DSL, HEAD = "dsl", "head"

HEAD_AFTER_DEADLINE: dict[str, float] = {"uk-2024.1": 1.0, "uk-2024.2": 1.0, "uk-2024.3": 1.0}
"""Per policy version: the head is told once the action has been overdue this many times as
long as the policy allowed for it."""


@dataclass(frozen=True)
class Escalation:
    """An escalation an action is due: to whom, from when, and the rule that says so (the
    action, its deadline and its policy version are the action's own)."""

    to: str
    escalate_at: datetime
    rule: str


def head_escalation_at(action: Action) -> datetime:
    """When an action still outstanding goes to the head."""
    multiple = HEAD_AFTER_DEADLINE[action.policy_version]
    return action.due_at + (action.due_at - action.required_since) * multiple


def escalations_due(action: Action, now: datetime) -> list[Escalation]:
    """The escalations ``action`` is due at ``now`` and has not had, the DSL's first."""
    if not action.overdue(now):
        return []
    head_at = head_escalation_at(action)
    allowed = action.due_at - action.required_since
    candidates = [
        (DSL, action.due_at, "to the DSL as soon as it is overdue"),
        (
            HEAD,
            head_at,
            f"to the head when still outstanding {head_at - action.due_at} after its deadline "
            f"({HEAD_AFTER_DEADLINE[action.policy_version]:g} x the {allowed} it allowed)",
        ),
    ]
    return [
        Escalation(to, at, rule)
        for to, at, rule in candidates
        if now > at and to not in action.escalated_to
    ]
