"""A case as it stands, or as it stood at any moment: a pure fold of its entries.

Every entry keeps the message it came from (an upstream contract as published, or review's own
entry's facts), so :func:`fold` needs nothing but the entries: the view of a case ``as_of`` a
moment is the fold of the entries on record then, and an auditor sees exactly what was known
when each decision was taken. Nothing here reads a store or a clock: ``now`` is an argument.

The actions are as referral published them with each assessment (``actions_after``: referral
alone holds the rules that open, reopen and drop them), changed by the DSL's decisions that
follow; review never imports referral's domain.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache, lru_cache
from uuid import UUID

from pydantic import ValidationError

from services.review.domain import OWN_SUBJECT_PREFIX, CaseRecord
from services.review.domain.access_log import CaseRead
from services.review.domain.actions import (
    ActionView,
    apply_decision,
    take_states,
)
from services.review.domain.containment import (
    CONTAINMENT,
    NOT_TOLD,
    NOT_YET,
    TOLD,
    Parents,
    ParentsSpokenTo,
    SiteRemovalRecorded,
)
from services.review.domain.file_transfer import (
    FILE_TRANSFER,
    FileReceived,
    FileSent,
    TransferView,
    apply_receipt,
    transfer_sent,
)
from services.review.domain.own_entries import OwnEntry, OwnKind, own_facts
from services.review.domain.review_and_closure import (
    CLOSED,
    OPEN_CASE,
    REOPENED,
    REVIEW_AND_CLOSURE,
    CaseClosed,
    CaseReopened,
    ReviewRecorded,
)
from services.review.domain.said import EntrySaid
from shared.actions import DECLINED, DONE
from shared.contracts import Contract, UnknownSubjectError, decode
from shared.contracts.intake import DslAssignedV1, IncidentReportedV1
from shared.contracts.referral import (
    ActionCompletedV1,
    ActionDeclinedV1,
    AssessmentRecordedV1,
    ClassificationOverriddenV1,
)

REVIEW_AFTER_DAYS: dict[str, int] = {"uk-2024.1": 42, "uk-2024.2": 42, "uk-2024.3": 42}
"""The school's review cycle (policy step 8): a case is reviewed this many days after the
disclosure, by the policy version of its first assessment. A policy value, not a law: a trust
that reviews sooner changes it here, with a new policy version."""

DEFAULT_REVIEW_AFTER_DAYS = 42
"""For a case not yet assessed, or assessed under a version the table does not name."""

_KINDS: tuple[type[OwnKind], ...] = (*CONTAINMENT, *REVIEW_AND_CLOSURE, *FILE_TRANSFER, CaseRead)
OWN_KINDS = {kind.KIND: kind for kind in _KINDS}
"""Every kind of review's own entry the fold knows, by its stored name."""

_END_OF_TIME = datetime.max.replace(tzinfo=UTC)
_REASON_FIELDS = (
    "reason",
    "reasons",
    "correction_reason",
    "handover_reason",
    "emergency_justification",
)


@dataclass(frozen=True)
class EntryView(EntrySaid):
    """One entry of the chronology: what it says, where it came from, and the reason and
    policy version it carries, if any."""

    source: str
    reason: str = ""
    policy_version: str = ""


@dataclass
class CaseView:
    """A case as it stood at ``as_of`` (None: as it stands), with overdue judged at ``now``.

    It is what the rules of closing (:class:`~services.review.domain.review_and_closure.Closable`)
    and of the file's transfer read."""

    case_id: UUID
    school: str
    reference: str
    now: datetime
    as_of: datetime | None = None
    version: int = 0
    """The number of entries other than reads: what ``If-Match`` is checked against, so that
    reading a case (which is itself recorded) never makes a write look stale."""
    disclosure_route: str = ""
    opened_at: datetime | None = None
    status: str = OPEN_CASE
    dsl: str = ""
    classification: str = "undetermined"
    subtype: str = ""
    computed_classification: str = "undetermined"
    computed_subtype: str = ""
    classification_overridden: bool = False
    policy_version: str = ""
    first_policy_version: str = ""
    actions: dict[str, ActionView] = field(default_factory=dict)
    step7: dict[str, list[OwnEntry]] = field(
        default_factory=lambda: {kind.KIND: [] for kind in CONTAINMENT}
    )
    reviews: list[OwnEntry] = field(default_factory=list)
    closures: list[OwnEntry] = field(default_factory=list)
    """Each closing and reopening, in order."""
    transfers: list[TransferView] = field(default_factory=list)
    """Each sending of the child-protection file to a new school, and its receipt."""
    reads: list[OwnEntry] = field(default_factory=list)
    entries: list[EntryView] = field(default_factory=list)
    """The chronology without the reads, in the order things happened."""

    @property
    def last_change(self) -> datetime | None:
        """When the latest entry other than a read was recorded: reading a case changes
        nothing of it."""
        return max((e.recorded_at for e in self.entries), default=None)

    @property
    def open_actions(self) -> list[ActionView]:
        return [a for a in self.actions.values() if a.outstanding]

    @property
    def overdue_actions(self) -> list[ActionView]:
        return [a for a in self.actions.values() if a.overdue(self.now)]

    @property
    def overdue_transfers(self) -> list[TransferView]:
        """Files sent whose receipt is not confirmed five school days on."""
        return [t for t in self.transfers if t.overdue(self.now)]

    @property
    def parents(self) -> Parents:
        action = self.actions.get("parents_or_carers")
        if action is not None and action.status == DONE:
            return Parents(
                TOLD,
                how=action.decision.get("how", ""),
                whom=action.decision.get("whom", ""),
                recorded_by=action.decision.get("recorded_by", ""),
                occurred_at=action.decision.get("occurred_at"),
                source="referral",
            )
        if action is not None and action.status == DECLINED:
            return Parents(
                NOT_TOLD,
                reason=action.decision.get("reason", ""),
                recorded_by=action.decision.get("recorded_by", ""),
                occurred_at=action.decision.get("occurred_at"),
                source="referral",
            )
        spoken = self.step7[ParentsSpokenTo.KIND]
        if spoken and (action is None or not action.outstanding):
            last = spoken[-1]
            return Parents(
                TOLD,
                how=last.facts.get("how", ""),
                whom=last.facts.get("with_whom", ""),
                recorded_by=last.actor,
                occurred_at=last.occurred_at,
                source="review",
            )
        return Parents(NOT_YET)

    @property
    def review_after_days(self) -> int:
        return REVIEW_AFTER_DAYS.get(self.first_policy_version, DEFAULT_REVIEW_AFTER_DAYS)

    @property
    def review_date(self) -> date | None:
        """The disclosure's date plus the review cycle of the case's first policy version (UTC
        dates, as every time the record keeps)."""
        if self.opened_at is None:
            return None
        return (self.opened_at + timedelta(days=self.review_after_days)).astimezone(UTC).date()

    @property
    def reviews_since_reopened(self) -> list[OwnEntry]:
        """The reviews that count towards closing: a reopened case is reviewed again."""
        reopened = [c for c in self.closures if c.kind == CaseReopened.KIND]
        since = reopened[-1].number if reopened else 0
        return [r for r in self.reviews if r.number > since]

    @property
    def review_overdue(self) -> bool:
        review_date = self.review_date
        return (
            self.status != CLOSED
            and review_date is not None
            and not self.reviews_since_reopened
            and self.now.astimezone(UTC).date() > review_date
        )

    @property
    def site_removal_status(self) -> dict[str, str]:
        """Each hosting site's removal status as last recorded."""
        return {e.facts["site"]: e.facts["status"] for e in self.step7[SiteRemovalRecorded.KIND]}


def case_view(record: CaseRecord, *, now: datetime, as_of: datetime | None = None) -> CaseView:
    """The view of ``record`` as it stands, or as it stood at ``as_of`` (then overdue is
    judged at ``as_of`` too: what was overdue then)."""
    return fold(
        record.on_record(as_of if as_of is not None else _END_OF_TIME),
        case_id=record.id,
        school=record.school,
        reference=record.reference,
        now=as_of if as_of is not None else now,
        as_of=as_of,
    )


def fold(
    entries: Sequence[CaseRecord.EntryRecorded],
    *,
    case_id: UUID,
    school: str,
    reference: str,
    now: datetime,
    as_of: datetime | None = None,
) -> CaseView:
    """Fold ``entries``, in the order they were recorded, into the case's view."""
    view = CaseView(case_id=case_id, school=school, reference=reference, now=now, as_of=as_of)
    for entry in entries:
        if entry.subject.startswith(OWN_SUBJECT_PREFIX):
            facts, _ = own_facts(entry.payload)
            own = OwnEntry(
                entry.number,
                entry.kind,
                entry.actor,
                entry.actor_role,
                entry.occurred_at,
                entry.recorded_at,
                facts,
            )
            if entry.kind == CaseRead.KIND:
                view.reads.append(own)
                continue
            _apply_own(view, own)
            view.entries.append(_entry_view(entry, reason=str(facts.get("reason", ""))))
        else:
            contract = _contract(entry.subject, entry.payload)
            if contract is not None:
                _apply_upstream(view, contract)
            view.entries.append(_entry_view(entry, contract=contract))
        if view.opened_at is None:
            view.opened_at = entry.occurred_at
    view.version = len(view.entries)
    view.entries.sort(key=lambda e: (e.occurred_at, e.recorded_at))
    return view


@lru_cache(maxsize=8192)
def _contract(subject: str, payload: str) -> Contract | None:
    """The upstream contract an entry keeps. Contracts are frozen, so a decoded one is shared
    between folds (the same case folded at several moments decodes each entry once).

    None for an entry from before entries kept their message, and for a subject or a shape
    this release does not know: the entry stays in the chronology, in words."""
    if not subject:
        return None
    try:
        return decode(subject, payload.encode())
    except (UnknownSubjectError, ValidationError):
        return None


def _entry_view(
    entry: CaseRecord.EntryRecorded, *, contract: Contract | None = None, reason: str = ""
) -> EntryView:
    if contract is not None:
        reason = next(
            (r for f in _reason_fields(type(contract)) if (r := getattr(contract, f))), ""
        )
    policy_version = contract.policy_version if isinstance(contract, AssessmentRecordedV1) else ""
    return EntryView.said(entry, reason=str(reason), policy_version=str(policy_version))


@cache
def _reason_fields(contract: type[Contract]) -> tuple[str, ...]:
    """The reason fields a contract has, looked up once per class: asking a pydantic model
    for a field it lacks is slow, and a fold asks for every entry."""
    return tuple(f for f in _REASON_FIELDS if f in contract.model_fields)


def _apply_own(view: CaseView, own: OwnEntry) -> None:
    if own.kind in view.step7:
        view.step7[own.kind].append(own)
    elif own.kind == ReviewRecorded.KIND:
        view.reviews.append(own)
    elif own.kind == CaseClosed.KIND:
        view.closures.append(own)
        view.status = CLOSED
    elif own.kind == CaseReopened.KIND:
        view.closures.append(own)
        view.status = REOPENED
    elif own.kind == FileSent.KIND:
        view.transfers.append(
            transfer_sent(
                own.number, own.facts, by=own.actor, role=own.actor_role, at=own.occurred_at
            )
        )
    elif own.kind == FileReceived.KIND:
        apply_receipt(view.transfers, own.number, own.facts, by=own.actor, at=own.occurred_at)


def _apply_upstream(view: CaseView, contract: Contract) -> None:
    if isinstance(contract, IncidentReportedV1):
        view.disclosure_route = str(contract.disclosure_route)
        # The case opens with its disclosure, even if referral's first message came first.
        view.opened_at = contract.occurred_at
    elif isinstance(contract, DslAssignedV1):
        view.dsl = contract.dsl
    elif isinstance(contract, AssessmentRecordedV1):
        _apply_assessment(view, contract)
    elif isinstance(contract, ClassificationOverriddenV1):
        view.classification, view.subtype = contract.classification, contract.subtype
        view.classification_overridden = True
    elif isinstance(contract, ActionCompletedV1 | ActionDeclinedV1):
        apply_decision(view.actions, contract)


def _apply_assessment(view: CaseView, assessment: AssessmentRecordedV1) -> None:
    view.computed_classification = assessment.classification
    view.computed_subtype = assessment.subtype
    if not view.classification_overridden:
        view.classification, view.subtype = assessment.classification, assessment.subtype
    view.policy_version = assessment.policy_version
    view.first_policy_version = view.first_policy_version or assessment.policy_version
    # Every assessment that required an action was published with the states it left (the
    # first policy version, uk-2024.1, required none and published none).
    take_states(view.actions, assessment.actions_after or ())
