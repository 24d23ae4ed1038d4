"""Policy steps 7 and 8 over HTTP, for the school's DSL and head: containing the incident
(support, staff informed, parents spoken to, education, removal help, the hosting site's
removal), the review of outcomes and procedures, closing the case and reopening it.

Every free-text field is :data:`~shared.imagery.FreeText`: facts about an image, never one.
Each POST takes an ``Idempotency-Key`` (a retry answers 200 with the first attempt's entry) and
``If-Match`` (the ``ETag`` of ``GET /cases/{id}``; 409 if the case changed meanwhile).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import Depends, HTTPException, Request, Response, status
from pydantic import AfterValidator, BaseModel, Field

from services.review.closure import ClosureRefusedError
from services.review.domain import CaseRecord
from services.review.entrypoint.common import DECIDERS, reviews_of, router, visible_case
from services.review.own_entries import (
    EDUCATION_SESSION,
    PARENTS_SPOKEN_TO,
    REMOVAL_HELP,
    REVIEW_RECORDED,
    SITE_REMOVAL,
    STAFF_INFORMED,
    SUPPORT_GIVEN,
    own_facts,
)
from services.review.views import version_of
from shared.http import (
    EntryIn,
    IdempotencyKey,
    IfMatch,
    entry_errors,
    expected_version,
    refuse_future,
)
from shared.identity import Principal
from shared.imagery import FreeText


def _not_blank(text: str) -> str:
    if not text.strip():
        msg = "must say something, in words"
        raise ValueError(msg)
    return text


Words = Annotated[FreeText, Field(min_length=1, max_length=4000), AfterValidator(_not_blank)]
"""Words that must be there: a fact or a reason, never blank, never an image."""
Note = Annotated[FreeText, Field(max_length=4000)]
"""Optional words."""
Pseudonym = Annotated[FreeText, Field(min_length=1, max_length=40), AfterValidator(_not_blank)]
"""A young person's pseudonymous reference (YP-1), never a name."""


# Step 7: containing the incident.


class SupportIn(EntryIn):
    """Support given to a young person."""

    pseudonym: Pseudonym
    kind: Literal["pastoral", "counselling", "mentor", "safety_plan", "external_service", "other"]
    given_by: Words
    detail: Words


class StaffInformedIn(EntryIn):
    """Other staff told, so they are prepared to act if the issue is continued or referred to
    by other students: who, and what they were told and why."""

    staff: Words = Field(description="Who was told, e.g. 'Year 9 tutors'.")
    what_and_why: Words


class ParentsConversationIn(EntryIn):
    """The conversation with the parents or carers itself (whether they are told at all is
    referral's parents_or_carers action)."""

    pseudonym: Pseudonym
    with_whom: Words
    how: Literal["in_person", "phone", "video_call", "letter"]
    what_was_said: Words


class EducationSessionIn(EntryIn):
    """An education session for students (the local police may deliver it)."""

    audience: Words = Field(description="Who attended, e.g. 'Year 9'.")
    topic: Words
    delivered_by: Words


class RemovalHelpIn(EntryIn):
    """Childline/IWF Report Remove or NCMEC Take It Down signposted to the young person, or used
    by them: both work from hashes made on the young person's own device."""

    pseudonym: Pseudonym
    service: Literal["childline_iwf_report_remove", "ncmec_take_it_down"]
    status: Literal["signposted", "used"]
    note: Note = ""


class SiteRemovalIn(EntryIn):
    """The hosting site's removal of the image, as it stands."""

    site: Words = Field(description="The site or app, by name.")
    status: Literal["requested", "pending", "removed", "refused"]
    their_reference: Note = ""
    note: Note = ""


# Step 8: review and closure.


class ReviewIn(EntryIn):
    """A review of outcomes and procedures."""

    what_worked: Words
    what_did_not_work: Words
    procedure_changes: Words = Field(description="Changes to procedure, or why none.")


class ClosureIn(EntryIn):
    note: Note = ""


class ReopeningIn(EntryIn):
    reason: Note = Field(description="Why the case is reopened (required).")


class StepEntryOut(BaseModel):
    """An entry of steps 7 or 8 as recorded; the case's new version is the ``ETag``."""

    number: int
    kind: str
    summary: str
    actor: str
    actor_role: str
    occurred_at: datetime
    recorded_at: datetime
    facts: dict[str, Any]


Decider = Annotated[Principal, Depends(DECIDERS)]


@router.post("/cases/{case_id}/support", status_code=201, response_model=StepEntryOut)
def record_support(
    case_id: UUID,
    body: SupportIn,
    request: Request,
    response: Response,
    principal: Decider,
    idempotency_key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> StepEntryOut:
    """Step 7: support given to a young person."""
    return _record(
        request, response, principal, case_id, SUPPORT_GIVEN, body, idempotency_key, if_match
    )


@router.post("/cases/{case_id}/staff-informed", status_code=201, response_model=StepEntryOut)
def record_staff_informed(
    case_id: UUID,
    body: StaffInformedIn,
    request: Request,
    response: Response,
    principal: Decider,
    idempotency_key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> StepEntryOut:
    """Step 7: other staff informed, and why."""
    return _record(
        request, response, principal, case_id, STAFF_INFORMED, body, idempotency_key, if_match
    )


@router.post("/cases/{case_id}/parents-conversations", status_code=201, response_model=StepEntryOut)
def record_parents_conversation(
    case_id: UUID,
    body: ParentsConversationIn,
    request: Request,
    response: Response,
    principal: Decider,
    idempotency_key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> StepEntryOut:
    """Step 7: a conversation with the parents or carers."""
    return _record(
        request, response, principal, case_id, PARENTS_SPOKEN_TO, body, idempotency_key, if_match
    )


@router.post("/cases/{case_id}/education-sessions", status_code=201, response_model=StepEntryOut)
def record_education_session(
    case_id: UUID,
    body: EducationSessionIn,
    request: Request,
    response: Response,
    principal: Decider,
    idempotency_key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> StepEntryOut:
    """Step 7: an education session for students."""
    return _record(
        request, response, principal, case_id, EDUCATION_SESSION, body, idempotency_key, if_match
    )


@router.post("/cases/{case_id}/removal-help", status_code=201, response_model=StepEntryOut)
def record_removal_help(
    case_id: UUID,
    body: RemovalHelpIn,
    request: Request,
    response: Response,
    principal: Decider,
    idempotency_key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> StepEntryOut:
    """Step 7: Report Remove or Take It Down, signposted or used."""
    return _record(
        request, response, principal, case_id, REMOVAL_HELP, body, idempotency_key, if_match
    )


@router.post("/cases/{case_id}/site-removals", status_code=201, response_model=StepEntryOut)
def record_site_removal(
    case_id: UUID,
    body: SiteRemovalIn,
    request: Request,
    response: Response,
    principal: Decider,
    idempotency_key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> StepEntryOut:
    """Step 7: the hosting site's removal status (requested, pending, removed, refused)."""
    return _record(
        request, response, principal, case_id, SITE_REMOVAL, body, idempotency_key, if_match
    )


@router.post("/cases/{case_id}/reviews", status_code=201, response_model=StepEntryOut)
def record_review(
    case_id: UUID,
    body: ReviewIn,
    request: Request,
    response: Response,
    principal: Decider,
    idempotency_key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> StepEntryOut:
    """Step 8: what worked, what did not, and the changes to procedure."""
    return _record(
        request, response, principal, case_id, REVIEW_RECORDED, body, idempotency_key, if_match
    )


@router.post("/cases/{case_id}/closure", status_code=201, response_model=StepEntryOut)
def close_case(
    case_id: UUID,
    body: ClosureIn,
    request: Request,
    response: Response,
    principal: Decider,
    idempotency_key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> StepEntryOut:
    """Step 8: close the case. Refused (422, every reason listed) while a required action is
    neither done nor declined with a reason, the parents are neither told nor recorded as not
    to be told with the reason, not referring to the police lacks its written reasons, or no
    review is recorded."""
    refuse_future(body.occurred_at)
    visible_case(request, principal, case_id)
    with _refusals(case_id):
        entry, record, created = reviews_of(request).close_case(
            case_id,
            note=body.note,
            recorded_by=principal.user,
            recorded_by_role=principal.role,
            occurred_at=body.occurred_at,
            idempotency_key=idempotency_key,
            expected_version=expected_version(if_match),
        )
    return _answer(response, entry, record, created)


@router.post("/cases/{case_id}/reopening", status_code=201, response_model=StepEntryOut)
def reopen_case(
    case_id: UUID,
    body: ReopeningIn,
    request: Request,
    response: Response,
    principal: Decider,
    idempotency_key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> StepEntryOut:
    """Step 8: reopen a closed case, with the reason (recorded; the case is then reviewed
    again before it closes)."""
    refuse_future(body.occurred_at)
    visible_case(request, principal, case_id)
    with _refusals(case_id):
        entry, record, created = reviews_of(request).reopen_case(
            case_id,
            reason=body.reason,
            recorded_by=principal.user,
            recorded_by_role=principal.role,
            occurred_at=body.occurred_at,
            idempotency_key=idempotency_key,
            expected_version=expected_version(if_match),
        )
    return _answer(response, entry, record, created)


def _record(
    request: Request,
    response: Response,
    principal: Principal,
    case_id: UUID,
    kind: str,
    body: EntryIn,
    idempotency_key: str | None,
    if_match: str | None,
) -> StepEntryOut:
    """Record one step 7 or step 8 entry of a case the principal may see."""
    refuse_future(body.occurred_at)
    visible_case(request, principal, case_id)
    with _refusals(case_id):
        entry, record, created = reviews_of(request).record_step(
            case_id,
            kind,
            body.model_dump(mode="json", exclude={"occurred_at"}),
            recorded_by=principal.user,
            recorded_by_role=principal.role,
            occurred_at=body.occurred_at,
            idempotency_key=idempotency_key,
            expected_version=expected_version(if_match),
        )
    return _answer(response, entry, record, created)


@contextmanager
def _refusals(case_id: UUID) -> Iterator[None]:
    """422 naming each rule a closing or reopening breaks; otherwise the shared answers (422
    naming the rule or the field that needs a reason, 409 with what to do)."""
    with entry_errors(f"/cases/{case_id}"):
        try:
            yield
        except ClosureRefusedError as e:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                {
                    "msg": f"refused: {len(e.refusals)} reason(s)",
                    "reasons": [
                        {"rule": r.rule, "msg": r.message, "action": r.action} for r in e.refusals
                    ],
                },
            ) from None


def _answer(
    response: Response, entry: CaseRecord.EntryRecorded, record: CaseRecord, created: bool
) -> StepEntryOut:
    """201 with the entry recorded, or 200 with the one a retry's first attempt recorded; the
    case's version as the ``ETag``."""
    if not created:
        response.status_code = status.HTTP_200_OK
    response.headers["ETag"] = f'"{version_of(record.entries)}"'
    return StepEntryOut(
        number=entry.number,
        kind=entry.kind,
        summary=entry.summary,
        actor=entry.actor,
        actor_role=entry.actor_role,
        occurred_at=entry.occurred_at,
        recorded_at=entry.recorded_at,
        facts=own_facts(entry.payload)[0],
    )
