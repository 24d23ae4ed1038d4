"""A case's view and chronology (as it stands, or as it stood at any moment), its hash chain
verified entry by entry, the case list and the overdue actions of a school, or of every school
of the token (across the trust).

Every read of a case (its view, its chronology or its chain, now or ``as_of``) is recorded in
the case's own chronology first, so the DSL and an auditor can see who looked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Query, Request, Response
from pydantic import AfterValidator, BaseModel, Field

from services.review.adapters.export import ChainCheck, TransferOut
from services.review.adapters.shown import Shown
from services.review.domain.case_view import CaseView, EntryView, case_view
from services.review.domain.chain import ChainBreak
from services.review.domain.containment import (
    EducationSessionHeld,
    ParentsSpokenTo,
    RemovalHelpRecorded,
    SiteRemovalRecorded,
    StaffInformed,
    SupportGiven,
)
from services.review.domain.own_entries import OwnEntry
from services.review.entrypoint.common import CASE_READERS, read_case, reviews_of, router
from shared.http import ActionOut, CaseId, SchoolAsked
from shared.identity import Authorize, Principal, Role, schools_listed
from shared.local_time import InTrustZone
from shared.runtime import ServiceRuntime

SCHOOL_READERS = Authorize(Role.DSL, Role.HEAD, Role.AUDITOR, Role.TRUST_LEAD)
"""Who reads a school's list of cases and its overdue actions: never names, only references."""

AsOf = Annotated[
    Annotated[datetime, AfterValidator(InTrustZone("as_of"))] | None,
    Query(
        description="The case as it stood at this moment: only the entries on record then. "
        "Without a zone, in the trust's."
    ),
]


# The answers that show an entry are the domain's dataclasses, named for the API: pydantic
# shows a dataclass as it shows a model, and so no field list is written twice.
@dataclass(frozen=True)
class EntryOut(EntryView):
    """One entry: what, who, when it happened and was recorded, its reason and policy
    version if it has them."""


class ParentsOut(Shown):
    """Parents or carers: ``told``, ``not_told`` (with the reason) or ``not_yet``."""

    status: str
    reason: str
    how: str
    whom: str
    recorded_by: str
    occurred_at: datetime | None
    source: str = Field(description="referral (the parents action) or review (step 7)")


@dataclass(frozen=True)
class OwnEntryOut(OwnEntry):
    """One of review's own entries (steps 7 and 8) with its facts."""

    @classmethod
    def of(cls, own: OwnEntry) -> OwnEntryOut:
        return cls(**vars(own))


class ReadOut(BaseModel):
    """One read of the case: who, in which role, when, what, and as of when."""

    user: str
    role: str
    at: datetime
    what: str
    as_of: str | None

    @classmethod
    def of(cls, own: OwnEntry) -> ReadOut:
        return cls(
            user=own.actor,
            role=own.actor_role,
            at=own.recorded_at,
            what=own.facts.get("what", ""),
            as_of=own.facts.get("as_of"),
        )


class ContainmentOut(BaseModel):
    """Policy step 7 as recorded."""

    support: list[OwnEntryOut]
    staff_informed: list[OwnEntryOut]
    parents_conversations: list[OwnEntryOut]
    education_sessions: list[OwnEntryOut]
    removal_help: list[OwnEntryOut]
    site_removals: list[OwnEntryOut]
    site_removal_status: dict[str, str] = Field(description="Each site's latest status.")


class ReviewOut(Shown):
    """Policy step 8 as recorded: the review date, the reviews, each closing and reopening."""

    review_date: date | None
    review_after_days: int
    review_overdue: bool
    reviews: list[OwnEntryOut]
    closures: list[OwnEntryOut]


class CaseViewOut(Shown):
    """A case as it stands (or stood at ``as_of``): its chronology in ``entries``, in the order
    things happened, and what follows from it; who read it in ``reads``."""

    case_id: UUID
    school: str
    reference: str
    as_of: datetime | None
    version: int = Field(description="The ETag: entries other than reads.")
    disclosure_route: str
    opened_at: datetime | None
    status: str = Field(description="open, closed or reopened")
    dsl: str
    classification: str = Field(description="The DSL's override if any, else the computed one.")
    subtype: str
    computed_classification: str
    computed_subtype: str
    policy_version: str
    actions: list[ActionOut]
    open_actions: list[str]
    overdue_actions: list[str]
    parents: ParentsOut
    containment: ContainmentOut
    review: ReviewOut
    transfers: list[TransferOut]
    entries: list[EntryOut]
    reads: list[ReadOut]


class ChronologyOut(Shown):
    """Every entry of the case, reads included, in the order things happened."""

    case_id: UUID
    school: str
    reference: str
    as_of: datetime | None
    entries: list[EntryOut]


class ChainEntryOut(BaseModel):
    """One entry's place in the case's hash chain, as stored, and whether the chain holds from
    the first entry to it."""

    number: int
    kind: str
    recorded_at: datetime
    previous_hash: str
    hash: str
    verified: bool = Field(description="The chain holds from the first entry to this one.")
    problem: str = Field(
        description="Why not: at the first broken entry, how it breaks; after it, which entry "
        "broke the chain. Empty if verified."
    )


class ChainOut(BaseModel):
    """A case's hash chain, verified from the stored entries when asked (reads included, this
    one too), each entry with its place in it, in the order they were stored."""

    case_id: UUID
    school: str
    reference: str
    chain: ChainCheck
    entries: list[ChainEntryOut]


class CaseSummaryOut(Shown):
    """One line of a case list."""

    case_id: UUID
    school: str
    reference: str
    status: str
    classification: str
    subtype: str
    open_actions: int
    overdue_actions: int
    dsl: str
    opened_at: datetime | None
    last_change: datetime | None = Field(
        description="When the latest entry other than a read was recorded."
    )
    review_date: date | None
    review_overdue: bool
    overdue_transfers: int


class CaseListOut(BaseModel):
    """The cases of the schools listed, school by school."""

    school: str | None = Field(description="The school asked for; null: none was.")
    schools: list[str] = Field(description="The schools listed.")
    cases: list[CaseSummaryOut]


class OverdueOut(Shown):
    """An action past its deadline, and the case it belongs to."""

    case_id: UUID
    school: str
    reference: str
    dsl: str
    action: str
    level: str
    why: str
    due_at: datetime
    overdue_minutes: int


class OverdueTransferOut(Shown):
    """A child-protection file whose receipt the new school has not confirmed in time."""

    case_id: UUID
    school: str
    reference: str
    dsl: str
    to_school: str
    sent_at: datetime
    due_on: date


class OverdueListOut(BaseModel):
    at: datetime
    schools: list[str]
    overdue: list[OverdueOut]
    overdue_transfers: list[OverdueTransferOut]


@router.get("/cases", response_model=CaseListOut)
def list_cases(
    request: Request,
    principal: Annotated[Principal, Depends(SCHOOL_READERS)],
    school: SchoolAsked = None,
) -> CaseListOut:
    """The cases of a school, or of every school the token names: reference, status,
    classification, open and overdue actions, DSL and review date. For the school's DSL and
    head, and the auditors and trust leads whose token names it; a school the token does not
    name is 404."""
    schools = _schools(request, principal, school)
    views = (view for s in schools for view in reviews_of(request).school_cases(s))
    return CaseListOut(school=school, schools=schools, cases=[_summary(v) for v in views])


@router.get("/overdue", response_model=OverdueListOut)
def list_overdue(
    request: Request,
    principal: Annotated[Principal, Depends(SCHOOL_READERS)],
    school: SchoolAsked = None,
) -> OverdueListOut:
    """Actions past their deadline, the longest overdue first: of one school, or of every
    school the token names (across the trust for a trust-wide token)."""
    reviews = reviews_of(request)
    schools = _schools(request, principal, school)
    now = reviews.clock()
    return OverdueListOut(
        at=now,
        schools=schools,
        overdue=[
            OverdueOut.shown(
                view, action, overdue_minutes=int((now - action.due_at).total_seconds() // 60)
            )
            for view, action in reviews.overdue(schools)
        ],
        overdue_transfers=[
            OverdueTransferOut.shown(view, transfer)
            for view, transfer in reviews.overdue_transfers(schools)
        ],
    )


@router.get("/cases/{case_id}", response_model=CaseViewOut)
def get_case_view(
    case_id: CaseId,
    request: Request,
    response: Response,
    principal: Annotated[Principal, Depends(CASE_READERS)],
    as_of: AsOf = None,
) -> CaseViewOut:
    """The case as it stands, or as it stood at ``as_of``: its chronology (``entries``, every
    entry with who, when it happened and when recorded, and its reason), status, DSL,
    classification, actions with their deadlines, parents, step 7, step 8, and who read it.
    This read is recorded first. The ``ETag`` (without ``as_of``) is for ``If-Match``."""
    record = read_case(request, principal, case_id, "case_view", as_of, nothing_was="shown")
    view = case_view(record, now=reviews_of(request).clock(), as_of=as_of)
    if as_of is None:
        response.headers["ETag"] = f'"{view.version}"'
    return _case_view_out(view)


@router.get("/cases/{case_id}/chronology", response_model=ChronologyOut)
def get_chronology(
    case_id: CaseId,
    request: Request,
    principal: Annotated[Principal, Depends(CASE_READERS)],
    as_of: AsOf = None,
) -> ChronologyOut:
    """Every entry of the case, the reads of it included, in the order things happened; with
    ``as_of``, only those on record then. This read is recorded first."""
    record = read_case(request, principal, case_id, "chronology", as_of, nothing_was="shown")
    view = case_view(record, now=reviews_of(request).clock(), as_of=as_of)
    views = {e.number: e for e in view.entries}
    entries = [EntryOut.said(views.get(e.number, e)) for e in record.chronology(as_of)]
    return ChronologyOut.shown(view, entries=entries)


@router.get("/cases/{case_id}/chain", response_model=ChainOut)
def get_chain(
    case_id: CaseId,
    request: Request,
    principal: Annotated[Principal, Depends(CASE_READERS)],
) -> ChainOut:
    """The case's hash chain as it stands, verified from the stored entries now: whether it
    holds, where it first breaks and how, and each entry (reads included) with its number,
    kind, when it was recorded, its hash and the one before it, and whether the chain holds
    up to it. For an auditor checking that nothing was altered. This read is recorded first,
    and is in the chain it answers."""
    record = read_case(request, principal, case_id, "chain", None, nothing_was="verified")
    found = reviews_of(request).verify(case_id)
    return ChainOut(
        case_id=record.id,
        school=record.school,
        reference=record.reference,
        chain=ChainCheck.of(record, found),
        entries=[
            ChainEntryOut(
                number=entry.number,
                kind=entry.kind,
                recorded_at=entry.recorded_at,
                previous_hash=entry.previous_hash,
                hash=entry.hash,
                verified=found is None or place < found.number,
                problem=_chain_problem(place, found),
            )
            for place, entry in enumerate(record.entries, start=1)
        ],
    )


def _chain_problem(place: int, found: ChainBreak | None) -> str:
    """Why the entry stored at ``place`` is not verified: ``found``, the chain's first break,
    is at or before it."""
    if found is None or place < found.number:
        return ""
    if place == found.number:
        return found.problem
    return f"follows the break at entry {found.number}"


def _schools(request: Request, principal: Principal, school: str | None) -> list[str]:
    runtime: ServiceRuntime = request.app.state.runtime
    return schools_listed(principal, runtime.trust, school)


def _summary(view: CaseView) -> CaseSummaryOut:
    return CaseSummaryOut.shown(
        view,
        open_actions=len(view.open_actions),
        overdue_actions=len(view.overdue_actions),
        overdue_transfers=len(view.overdue_transfers),
    )


def _case_view_out(view: CaseView) -> CaseViewOut:
    step7 = {kind: [OwnEntryOut.of(e) for e in entries] for kind, entries in view.step7.items()}
    return CaseViewOut.shown(
        view,
        actions=[ActionOut.of(a, view.now) for a in view.actions.values()],
        open_actions=[a.action for a in view.open_actions],
        overdue_actions=[a.action for a in view.overdue_actions],
        parents=ParentsOut.shown(view.parents),
        containment=ContainmentOut(
            support=step7[SupportGiven.KIND],
            staff_informed=step7[StaffInformed.KIND],
            parents_conversations=step7[ParentsSpokenTo.KIND],
            education_sessions=step7[EducationSessionHeld.KIND],
            removal_help=step7[RemovalHelpRecorded.KIND],
            site_removals=step7[SiteRemovalRecorded.KIND],
            site_removal_status=view.site_removal_status,
        ),
        review=ReviewOut.shown(
            view,
            reviews=[OwnEntryOut.of(e) for e in view.reviews],
            closures=[OwnEntryOut.of(e) for e in view.closures],
        ),
        transfers=[TransferOut.of(t, view.now) for t in view.transfers],
        entries=[EntryOut.said(e) for e in view.entries],
        reads=[ReadOut.of(r) for r in view.reads],
    )
