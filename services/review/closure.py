"""Policy step 8: when a case may be closed.

:func:`closure_refusals` is pure: it reads a :class:`~services.review.views.CaseView` and lists
*every* reason the case cannot be closed yet, so that the DSL sees all that is left at once
rather than one refusal per attempt.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.review.views import CLOSED, NOT_YET, CaseView
from shared.entries import EntryError

# The rules, by the names a refusal gives them.
ALREADY_CLOSED = "already_closed"
REQUIRED_ACTION_OPEN = "required_action_open"
PARENTS_NOT_TOLD = "parents_neither_told_nor_reason_recorded"
NOT_REFERRING_WITHOUT_REASONS = "not_referring_without_written_reasons"
NO_REVIEW = "no_review_recorded"
TRANSFER_UNCONFIRMED = "transfer_unconfirmed"
NOT_CLOSED = "not_closed"

# Whether to refer to the police is the DSL's to decide at these levels; not referring needs
# its reasons in writing (the police action declined in referral, with the reasons).
_DSL_DECIDES_POLICE = ("dsl_decides", "recommended")


@dataclass(frozen=True)
class Refusal:
    """One reason a case cannot be closed (or reopened): the rule, what is left, and the
    action it concerns, if any."""

    rule: str
    message: str
    action: str = ""


class ClosureRefusedError(EntryError):
    """Closing (or reopening) refused; ``refusals`` lists every reason."""

    def __init__(self, refusals: tuple[Refusal, ...]) -> None:
        super().__init__("; ".join(r.message for r in refusals))
        self.refusals = refusals


def closure_refusals(view: CaseView) -> tuple[Refusal, ...]:
    """Every reason ``view``'s case cannot be closed now; empty if it can."""
    if view.status == CLOSED:
        return (Refusal(ALREADY_CLOSED, "the case is closed already"),)
    refusals: list[Refusal] = []
    for action in view.open_actions:
        # Parents and a police decision left to the DSL have rules of their own, below.
        if action.level != "required" or action.action == "parents_or_carers":
            continue
        must = "must be done" if not action.declinable else "is neither done nor declined"
        refusals.append(
            Refusal(
                REQUIRED_ACTION_OPEN,
                f"{action.action.replace('_', ' ')} is required ({action.why}) and {must}: "
                "record it in referral",
                action.action,
            )
        )
    if view.parents.status == NOT_YET:
        refusals.append(
            Refusal(
                PARENTS_NOT_TOLD,
                "the parents or carers are neither told nor recorded as not to be told with "
                "the reason: record it in referral (the parents_or_carers action done, or "
                "declined with the reason)",
                "parents_or_carers",
            )
        )
    police = view.actions.get("police")
    if police is not None and police.outstanding and police.level in _DSL_DECIDES_POLICE:
        refusals.append(
            Refusal(
                NOT_REFERRING_WITHOUT_REASONS,
                f"the police referral is the DSL's decision ({police.why}): record the "
                "referral, or the decision not to refer with its written reasons, in referral",
                "police",
            )
        )
    for transfer in view.transfers:
        # Until the new school confirms receipt, someone here must still be chasing it.
        if not transfer.confirmed:
            refusals.append(
                Refusal(
                    TRANSFER_UNCONFIRMED,
                    f"the child-protection file sent to {transfer.to_school} on "
                    f"{transfer.sent_at:%Y-%m-%d} is not confirmed as received",
                )
            )
    if not view.reviews_since_reopened:
        again = " since the case was reopened" if view.closures else ""
        refusals.append(
            Refusal(NO_REVIEW, f"no review of outcomes and procedures is recorded{again}")
        )
    return tuple(refusals)


def reopening_refusals(view: CaseView) -> tuple[Refusal, ...]:
    """Only a closed case is reopened."""
    if view.status != CLOSED:
        return (Refusal(NOT_CLOSED, f"the case is {view.status}, not closed"),)
    return ()
