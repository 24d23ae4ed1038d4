"""Policy step 8: reviewing outcomes and procedures; closing the case, and reopening it.

The review, the closing and the reopening are review's own entries
(:mod:`services.review.domain.own_entries`), declared here once. :func:`closure_refusals` is
pure: it reads the case as it stands (:class:`Closable`, which the case's view is) and lists
*every* reason the case cannot be closed yet, so that the DSL sees all that is left at once
rather than one refusal per attempt.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Protocol

from services.review.domain.actions import ActionView
from services.review.domain.containment import NOT_YET, Parents
from services.review.domain.file_transfer import TransferView
from services.review.domain.own_entries import OwnEntry, OwnKind
from shared.entries import EntryError, NeedsReasonError
from shared.vocabulary import Doc, LongNote, LongWords

# A case's status.
OPEN_CASE, CLOSED, REOPENED = "open", "closed", "reopened"


@dataclass(frozen=True)
class ReviewRecorded(OwnKind):
    """Step 8: a review of outcomes and procedures: what worked, what did not, and the
    changes to procedure."""

    KIND = "review_recorded"
    STEP = 8
    ROUTE = "reviews"

    what_worked: LongWords
    what_did_not_work: LongWords
    procedure_changes: Annotated[LongWords, Doc("Changes to procedure, or why none.")]

    def words(self) -> str:
        return (
            f"Review of outcomes and procedures: worked: {self.what_worked}; did not: "
            f"{self.what_did_not_work}; changes to procedure: {self.procedure_changes}"
        )


class Closable(Protocol):
    """What the closing and reopening rules read of a case (its view as it stands)."""

    status: str
    actions: dict[str, ActionView]
    transfers: list[TransferView]
    closures: list[OwnEntry]

    @property
    def open_actions(self) -> list[ActionView]: ...

    @property
    def parents(self) -> Parents: ...

    @property
    def reviews_since_reopened(self) -> list[OwnEntry]: ...


@dataclass(frozen=True)
class CaseClosed(OwnKind):
    """Step 8: the case closed."""

    KIND = "case_closed"
    STEP = 8
    ROUTE = "closure"

    note: LongNote = ""

    def check(self, case: Closable, occurred_at: datetime | None) -> None:
        """Refused (422, every reason listed) while a required action is neither done nor
        declined with a reason, the parents are neither told nor recorded as not to be told
        with the reason, not referring to the police lacks its written reasons, a
        child-protection file sent is not confirmed as received, or no review is recorded."""
        if found := closure_refusals(case):
            raise ClosureRefusedError(found)

    def words(self) -> str:
        return f"Case closed: {self.note}" if self.note else "Case closed"


@dataclass(frozen=True)
class CaseReopened(OwnKind):
    """Step 8: a closed case reopened, with the reason (recorded; the case is then reviewed
    again before it closes)."""

    KIND = "case_reopened"
    STEP = 8
    ROUTE = "reopening"

    reason: Annotated[LongNote, Doc("Why the case is reopened (required).")]

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.reason.strip():
            msg = "reopening a case needs the reason"
            raise NeedsReasonError(msg)

    def check(self, case: Closable, occurred_at: datetime | None) -> None:
        """Refused unless the case is closed."""
        if found := reopening_refusals(case):
            raise ClosureRefusedError(found)

    def words(self) -> str:
        return f"Case reopened: {self.reason}"


REVIEW_AND_CLOSURE: tuple[type[OwnKind], ...] = (ReviewRecorded, CaseClosed, CaseReopened)

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


def closure_refusals(view: Closable) -> tuple[Refusal, ...]:
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


def reopening_refusals(view: Closable) -> tuple[Refusal, ...]:
    """Only a closed case is reopened."""
    if view.status != CLOSED:
        return (Refusal(NOT_CLOSED, f"the case is {view.status}, not closed"),)
    return ()
