"""The young people an incident involves: recorded with the disclosure, added or corrected later."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field, create_model

from services.intake.domain import YoungPerson
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
from shared.contracts.intake import YoungPersonRecordedV1
from shared.identity import Principal
from shared.imagery import FreeText
from shared.local_time import TrustTime


def _contract_field(name: str, default: Any) -> tuple[Any, Any]:
    return YoungPersonRecordedV1.model_fields[name].annotation, default


# The allowed values are the published contract's, which a test ties to the domain's.
YoungPersonIn = create_model(
    "YoungPersonIn",
    __config__=ConfigDict(extra="forbid"),
    __doc__="A young person the incident involves, by a pseudonymous reference, never a name.",
    pseudonym=(FreeText, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9-]{1,39}$", examples=["YP-3"])),
    year_group=(int | None, Field(default=None, ge=0, le=14)),
    age=(int | None, Field(default=None, ge=3, le=25)),
    sex=_contract_field("sex", Field(default="not_recorded")),
    vulnerabilities=_contract_field("vulnerabilities", Field(default=())),
    roles=_contract_field("roles", Field(min_length=1)),
)


class YoungPersonOut(BaseModel):
    """A young person as recorded at one moment."""

    pseudonym: str
    year_group: int | None
    age: int | None
    sex: str
    vulnerabilities: list[str]
    roles: list[str]
    reason: str
    recorded_by: str
    recorded_by_role: str
    occurred_at: datetime
    recorded_at: datetime

    @classmethod
    def of(cls, person: YoungPerson) -> YoungPersonOut:
        return cls(**vars(person))


class YoungPersonChangeIn(BaseModel):
    """A young person to add, or a correction of one (with the reason)."""

    model_config = ConfigDict(extra="forbid")

    young_person: YoungPersonIn
    reason: FreeText = Field(default="", max_length=2000, description="Required to correct.")
    occurred_at: TrustTime | None = None


@router.post(
    "/cases/{case_id}/young-people",
    status_code=status.HTTP_201_CREATED,
    response_model=YoungPersonOut,
)
def record_young_person(
    case_id: CaseId,
    body: YoungPersonChangeIn,
    request: Request,
    response: Response,
    principal: Annotated[Principal, Depends(RECORDERS)],
    idempotency_key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> YoungPersonOut:
    """Add a young person to the case, or correct one already recorded; the earlier record
    stays in the history."""
    incident = visible_incident(request, principal, case_id)
    refuse_future(body.occurred_at)
    with entry_errors(case_id):
        person, created = intake_of(request).record_young_person(
            incident.id,
            details=body.young_person.model_dump(),
            reason=body.reason,
            recorded_by=principal.user,
            recorded_by_role=str(principal.role),
            occurred_at=body.occurred_at,
            idempotency_key=idempotency_key,
            expected_version=expected_version(if_match),
        )
    if not created:
        response.status_code = status.HTTP_200_OK
    return YoungPersonOut.of(person)


@router.get("/cases/{case_id}/young-people", response_model=list[YoungPersonOut])
def get_young_people(
    case_id: CaseId, request: Request, principal: Annotated[Principal, Depends(RECORDERS)]
) -> list[YoungPersonOut]:
    """Every record of every young person of the case, oldest first."""
    incident = visible_incident(request, principal, case_id)
    return [YoungPersonOut.of(person) for person in incident.young_people_history]
