"""Step 2: searching a device, only under the policy's conditions; or deciding not to."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import Depends, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from services.intake.domain import DeclinedSearch, Search
from services.intake.entrypoint.common import (
    DECIDERS,
    HEAD,
    RECORDERS,
    CaseId,
    IdempotencyKey,
    IfMatch,
    Pseudonym,
    entry_errors,
    expected_version,
    intake_of,
    refuse_future,
    router,
    visible_incident,
)
from shared.identity import Principal
from shared.imagery import FreeText
from shared.local_time import TrustTime


class AuthorisationIn(BaseModel):
    """The head authorises a named member of staff to search a young person's device."""

    model_config = ConfigDict(extra="forbid")

    searcher: FreeText = Field(min_length=1, max_length=200, examples=["staff.b"])
    pseudonym: Pseudonym
    occurred_at: TrustTime | None = None


class SearchIn(BaseModel):
    """A device search as it happened. What was found is described in words, never the image."""

    model_config = ConfigDict(extra="forbid")

    pseudonym: Pseudonym
    device: FreeText = Field(min_length=1, max_length=200, examples=["personal phone"])
    searcher: FreeText = Field(min_length=1, max_length=200)
    searcher_sex: Literal["female", "male"]
    policy_followed: bool
    safeguarding_team_member: FreeText = Field(
        default="", max_length=200, description="Who from the safeguarding team was present."
    )
    outcome: Literal[
        "nothing_found", "inappropriate_content", "potentially_illegal_imagery_suspected"
    ]
    emergency: bool = Field(
        default=False,
        description="Risk of serious harm and no other member of staff practicable.",
    )
    emergency_justification: FreeText = Field(default="", max_length=2000)
    occurred_at: TrustTime | None = None


class SearchOut(BaseModel):
    pseudonym: str
    device: str
    searcher: str
    searcher_sex: str
    safeguarding_team_member: str
    outcome: str
    emergency: bool
    emergency_justification: str
    conditions_not_met: list[str]
    recorded_by: str
    recorded_by_role: str
    occurred_at: datetime
    recorded_at: datetime

    @classmethod
    def of(cls, search: Search) -> SearchOut:
        return cls(**vars(search))


class DeclineIn(BaseModel):
    """Not searching, because it would add to the young person's distress."""

    model_config = ConfigDict(extra="forbid")

    pseudonym: Pseudonym
    reason: FreeText = Field(min_length=1, max_length=2000)
    occurred_at: TrustTime | None = None


class DeclinedOut(BaseModel):
    pseudonym: str
    reason: str
    recorded_by: str
    recorded_by_role: str
    occurred_at: datetime
    recorded_at: datetime

    @classmethod
    def of(cls, declined: DeclinedSearch) -> DeclinedOut:
        return cls(**vars(declined))


@router.post("/cases/{case_id}/search-authorisations", status_code=status.HTTP_201_CREATED)
def authorise_search(
    case_id: CaseId,
    body: AuthorisationIn,
    request: Request,
    principal: Annotated[Principal, Depends(HEAD)],
) -> dict[str, str]:
    """Step 2: the head authorises a named person to search. The same again changes nothing."""
    incident = visible_incident(request, principal, case_id)
    refuse_future(body.occurred_at)
    with entry_errors(case_id):
        authorisation = intake_of(request).authorise_search(
            incident.id,
            searcher=body.searcher,
            pseudonym=body.pseudonym,
            authorised_by=principal.user,
            authorised_by_role=str(principal.role),
            occurred_at=body.occurred_at,
        )
    return {
        "searcher": authorisation.searcher,
        "pseudonym": authorisation.pseudonym,
        "authorised_by": authorisation.authorised_by,
    }


@router.post(
    "/cases/{case_id}/searches", status_code=status.HTTP_201_CREATED, response_model=SearchOut
)
def record_search(
    case_id: CaseId,
    body: SearchIn,
    request: Request,
    response: Response,
    principal: Annotated[Principal, Depends(RECORDERS)],
    idempotency_key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> SearchOut:
    """Step 2: a device search. Refused (422, naming each condition not met) unless the policy's
    four conditions hold, or the emergency exception is claimed with its justification, which
    flags the case for review."""
    incident = visible_incident(request, principal, case_id)
    refuse_future(body.occurred_at)
    details = body.model_dump(exclude={"occurred_at"})
    with entry_errors(case_id):  # a condition not met is an IntakeError: 422 naming it
        search, created = intake_of(request).record_search(
            incident.id,
            details=details,
            recorded_by=principal.user,
            recorded_by_role=str(principal.role),
            occurred_at=body.occurred_at,
            idempotency_key=idempotency_key,
            expected_version=expected_version(if_match),
        )
    if not created:
        response.status_code = status.HTTP_200_OK
    return SearchOut.of(search)


@router.post(
    "/cases/{case_id}/searches/declined",
    status_code=status.HTTP_201_CREATED,
    response_model=DeclinedOut,
)
def decline_search(
    case_id: CaseId,
    body: DeclineIn,
    request: Request,
    principal: Annotated[Principal, Depends(DECIDERS)],
    if_match: IfMatch = None,
) -> DeclinedOut:
    """Step 2: a decision not to search, because it would add distress, with its reason."""
    incident = visible_incident(request, principal, case_id)
    refuse_future(body.occurred_at)
    with entry_errors(case_id):
        declined = intake_of(request).decline_search(
            incident.id,
            pseudonym=body.pseudonym,
            reason=body.reason,
            recorded_by=principal.user,
            recorded_by_role=str(principal.role),
            occurred_at=body.occurred_at,
            expected_version=expected_version(if_match),
        )
    return DeclinedOut.of(declined)
