"""The actions of a case as referral published them with each assessment (``actions_after``:
referral alone holds the rules that open, reopen and drop them), changed by the DSL's
decisions that follow. Review never imports referral's domain: it reads referral's contracts.
"""

from __future__ import annotations

from collections.abc import Iterable

from shared.actions import DECLINED, DONE, ActionState
from shared.contracts.referral import ActionCompletedV1, ActionDeclinedV1, ActionStateV1

ActionView = ActionState
"""One action as review holds it: as referral published it, and the decisions since."""


def take_states(actions: dict[str, ActionView], states: Iterable[ActionStateV1]) -> None:
    """The actions as referral left them after an assessment. A decision that still stands
    keeps what review was told with it (its words, who recorded it and when); one the
    assessment undid (a declined action the policy no longer lets be declined) goes to the
    action's history, in referral's words."""
    for state in states:
        before = actions.get(state.action)
        after = ActionView(
            state.action,
            state.level,
            state.why,
            state.declinable,
            state.required_since,
            state.due_at,
            state.policy_version,
            state.status,
        )
        if before is not None:
            after.history = before.history
            if before.status == after.status:
                after.decision = before.decision
            elif before.status == DECLINED:
                reason = before.decision.get("reason", "")
                after.history.append(f"declined ({reason}), reopened: {after.why}")
        actions[state.action] = after


def apply_decision(
    actions: dict[str, ActionView], decision: ActionCompletedV1 | ActionDeclinedV1
) -> None:
    action = actions.get(decision.action)
    if action is None:
        # Referral refuses a decision on an action it does not hold; a view never invents one.
        return
    recorded = {"recorded_by": decision.recorded_by, "occurred_at": decision.occurred_at}
    if isinstance(decision, ActionCompletedV1):
        action.status = DONE
        action.decision = {
            "how": decision.how,
            "whom": decision.whom,
            "their_reference": decision.their_reference,
            **recorded,
        }
    else:
        action.status = DECLINED
        action.decision = {"reason": decision.reason, **recorded}
