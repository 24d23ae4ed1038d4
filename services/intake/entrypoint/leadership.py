"""Step 4: the DSL and senior management told of the incident; the DSL who takes the case."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import Depends, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from services.intake.domain import Informed
from services.intake.entrypoint.common import (
    RECORDERS,
    CaseId,
    IdempotencyKey,
    IfMatch,
    entry_errors,
    expected_version,
    intake_of,
    refuse_future,
    router,
    visible_incident,
)
from shared.identity import Authorize, Principal, Role
from shared.imagery import FreeText
from shared.local_time import TrustTime

ASSIGNERS = Authorize(Role.DSL, Role.HEAD)


class InformedIn(BaseModel):
    """Who was told, how, and when (default: now)."""

    model_config = ConfigDict(extra="forbid")

    audience: Literal["dsl", "senior_management"]
    person: FreeText = Field(min_length=1, max_length=200, examples=["dsl.oak"])
    how: Literal["in_person", "phone", "written"]
    occurred_at: TrustTime | None = None
    reason: FreeText = Field(default="", max_length=2000)


class InformedOut(BaseModel):
    """One record of someone told."""

    audience: str
    person: str
    how: str
    minutes_after_disclosure: int
    reason: str
    recorded_by: str
    recorded_by_role: str
    occurred_at: datetime
    recorded_at: datetime

    @classmethod
    def of(cls, entry: Informed) -> InformedOut:
        return cls(**vars(entry))


class DslIn(BaseModel):
    """The DSL who takes the case."""

    model_config = ConfigDict(extra="forbid")

    dsl: FreeText = Field(min_length=1, max_length=200, examples=["dsl.oak"])
    reason: FreeText = Field(default="", max_length=2000, description="Required to hand over.")
    occurred_at: TrustTime | None = None


class DslOut(BaseModel):
    case_id: UUID
    dsl: str | None


@router.post(
    "/cases/{case_id}/informed", status_code=status.HTTP_201_CREATED, response_model=InformedOut
)
def record_informed(
    case_id: CaseId,
    body: InformedIn,
    request: Request,
    response: Response,
    principal: Annotated[Principal, Depends(RECORDERS)],
    idempotency_key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> InformedOut:
    """Step 4: the DSL (in person where the triage says immediate action is needed) or senior
    management told of the incident; the minutes since the disclosure are recorded."""
    incident = visible_incident(request, principal, case_id)
    refuse_future(body.occurred_at)
    with entry_errors(case_id):
        entry, created = intake_of(request).record_informed(
            incident.id,
            audience=body.audience,
            person=body.person,
            how=body.how,
            reason=body.reason,
            recorded_by=principal.user,
            recorded_by_role=str(principal.role),
            occurred_at=body.occurred_at,
            idempotency_key=idempotency_key,
            expected_version=expected_version(if_match),
        )
    if not created:
        response.status_code = status.HTTP_200_OK
    return InformedOut.of(entry)


@router.get("/cases/{case_id}/informed", response_model=list[InformedOut])
def get_informed(
    case_id: CaseId, request: Request, principal: Annotated[Principal, Depends(RECORDERS)]
) -> list[InformedOut]:
    """Everyone recorded as told of the incident, oldest first."""
    incident = visible_incident(request, principal, case_id)
    return [InformedOut.of(entry) for entry in incident.informed]


@router.post("/cases/{case_id}/dsl", response_model=DslOut)
def assign_dsl(
    case_id: CaseId,
    body: DslIn,
    request: Request,
    principal: Annotated[Principal, Depends(ASSIGNERS)],
    if_match: IfMatch = None,
) -> DslOut:
    """Step 4: the DSL who takes the case. The same DSL again changes nothing (a retry is
    safe); another DSL takes it over, with the reason."""
    incident = visible_incident(request, principal, case_id)
    refuse_future(body.occurred_at)
    with entry_errors(case_id):
        updated = intake_of(request).assign_dsl(
            incident.id,
            dsl=body.dsl,
            reason=body.reason,
            recorded_by=principal.user,
            recorded_by_role=str(principal.role),
            occurred_at=body.occurred_at,
            expected_version=expected_version(if_match),
        )
    return DslOut(case_id=updated.id, dsl=updated.dsl)
