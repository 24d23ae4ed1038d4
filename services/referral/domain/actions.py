"""Step 5-6's required actions on a case: each opened by an assessment, with its deadline, and
closed by the DSL's decision (done, or declined with a written reason)."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services.referral.policy import Assessment
from shared.actions import DECLINED, NO_LONGER_REQUIRED, OPEN, ActionState
from shared.entries import EntryError, NeedsReasonError


class ActionError(EntryError):
    """A decision the action's state or the policy does not allow; the message says why."""


@dataclass
class Action(ActionState):
    """One action as it stands: what the latest assessment requires, by when, and what the DSL
    decided."""

    opened_by: int = 0
    """The number of the assessment since which it is outstanding at this level: the one that
    newly required it (a notice goes out for that assessment, and only for it)."""
    escalated_to: list[str] = field(default_factory=list)
    """Whom its present deadline's lapse was escalated to (``dsl``, then ``head``)."""


def apply_assessment(
    actions: dict[str, Action], assessment: Assessment, at: datetime, number: int = 0
) -> None:
    """Bring the case's actions in line with assessment ``number``, made at ``at``.

    A new action, or one whose level or deadline changed, is (re)opened from ``at``. A declined
    action that the policy now requires and does not let be declined (a police referral once an
    adult may be involved) is opened again: the earlier decision stays in its history. An action
    that becomes outstanding, or outstanding at another level, is marked as opened by
    ``number``; a new deadline forgets the escalations of the old one.
    """
    before = {name: (a.outstanding, a.level) for name, a in actions.items()}
    asked = {a.action: a for a in assessment.actions}
    for name, required in asked.items():
        current = actions.get(name)
        due = at + timedelta(minutes=required.due_within_minutes)
        if current is None:
            actions[name] = Action(
                name,
                required.level,
                required.why,
                required.declinable,
                at,
                due,
                assessment.policy_version,
            )
            continue
        changed = (current.level, current.why) != (required.level, required.why)
        current.why = required.why
        current.declinable = required.declinable
        current.policy_version = assessment.policy_version
        if changed and current.status == OPEN:
            _reopen(current, required.level, at, due)
        elif current.status == DECLINED and not required.declinable:
            current.history.append(
                f"declined ({current.decision.get('reason', '')}), reopened: {required.why}"
            )
            _reopen(current, required.level, at, due)
            current.status, current.decision = OPEN, {}
        else:
            current.level = required.level
    for name, current in actions.items():
        if name not in asked and current.status == OPEN:
            current.level = NO_LONGER_REQUIRED
        if current.outstanding and before.get(name) != (True, current.level):
            current.opened_by = number


def assessed(
    actions: dict[str, Action], assessment: Assessment, at: datetime, number: int = 0
) -> dict[str, Action]:
    """The case's actions as they will stand after assessment ``number``: :func:`apply_assessment`
    run on a copy, so that ``actions`` are untouched and the result is what the assessment's
    event then makes of them."""
    after = copy.deepcopy(actions)
    apply_assessment(after, assessment, at, number)
    return after


def canonical_states(actions: dict[str, Action]) -> str:
    """Where each action stands, as canonical JSON, in the order the case came to hold them: what
    other services take as they are instead of re-applying these rules.

    Not the DSL's decision nor the history: their words (whom they spoke to, why not) are
    personal data, published marked as such with each decision's own contract."""
    return json.dumps(
        [
            {
                "action": a.action,
                "level": a.level,
                "why": a.why,
                "declinable": a.declinable,
                "status": a.status,
                "required_since": a.required_since.isoformat(),
                "due_at": a.due_at.isoformat(),
                "policy_version": a.policy_version,
            }
            for a in actions.values()
        ],
        sort_keys=True,
        separators=(",", ":"),
    )


def _reopen(action: Action, level: str, at: datetime, due: datetime) -> None:
    action.level, action.required_since, action.due_at = level, at, due
    action.escalated_to = []


def check_decision(
    actions: dict[str, Action], action: str, *, declining: bool, reason: str
) -> None:
    current = actions.get(action)
    if current is None:
        known = ", ".join(sorted(actions)) or "none yet"
        msg = f"no action {action} on this case (actions: {known})"
        raise ActionError(msg)
    if current.status != OPEN:
        msg = f"{action} is {current.status} already"
        raise ActionError(msg)
    if declining and not current.declinable:
        msg = f"{action} cannot be declined: {current.why}"
        raise ActionError(msg)
    if declining and not reason.strip():
        msg = f"declining {action} needs a written reason"
        raise NeedsReasonError(msg)
