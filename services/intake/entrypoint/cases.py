"""Step 1: recording a disclosure, and reading a case."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Header, HTTPException, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from services.intake.application import IdempotencyKeyReusedError, ReferenceBusyError
from services.intake.domain import Incident, IntakeError
from services.intake.entrypoint.common import (
    RECORDERS,
    CaseId,
    field_error,
    intake_of,
    refuse_future,
    router,
    visible_incident,
)
from services.intake.entrypoint.young_people import YoungPersonIn, YoungPersonOut
from shared.contracts.intake import DisclosureRoute
from shared.identity import Principal
from shared.imagery import FreeText
from shared.local_time import TrustTime
from shared.runtime import ServiceRuntime


class DisclosureIn(BaseModel):
    """A disclosure as a member of staff records it. Facts about the image, never the image."""

    model_config = ConfigDict(extra="forbid")

    school: str = Field(pattern=r"^[A-Z]{2,8}$", examples=["OAK"])
    disclosure_route: DisclosureRoute
    summary: FreeText = Field(
        min_length=1,
        max_length=5000,
        description="What was disclosed, in words. Text carrying an image, or a link to one, "
        "is refused.",
    )
    occurred_at: TrustTime | None = Field(
        default=None,
        description="When the disclosure was made (without a zone: in the trust's); default: now.",
    )
    young_people: list[YoungPersonIn] = Field(
        default_factory=list,
        max_length=100,
        description="The young people involved, each by a pseudonymous reference.",
    )


class CaseOut(BaseModel):
    """A case as intake holds it."""

    case_id: UUID
    reference: str
    school: str
    disclosure_route: DisclosureRoute
    summary: str
    recorded_by: str
    occurred_at: datetime
    recorded_at: datetime
    young_people: list[YoungPersonOut] = Field(  # type: ignore[valid-type]  # made by pydantic
        description="Each as last recorded."
    )
    dsl: str | None = Field(description="The DSL who has taken the case, if one has.")
    # Defaults, so that a client reading a server from before step 3 still understands it.
    flagged_for_review: list[str] = Field(
        default_factory=list,
        description="What the DSL must review: an emergency search, copies deleted after "
        "another agency became involved.",
    )
    agencies_involved: list[str] = Field(
        default_factory=list,
        description="Other agencies on the case, as intake knows; while there are none, young "
        "people may be asked to delete copies.",
    )

    @classmethod
    def of(cls, incident: Incident) -> CaseOut:
        return cls(
            case_id=incident.id,
            reference=incident.reference,
            school=incident.school,
            disclosure_route=DisclosureRoute(incident.disclosure_route),
            summary=incident.summary,
            recorded_by=incident.recorded_by,
            occurred_at=incident.occurred_at,
            recorded_at=incident.recorded_at,
            young_people=[YoungPersonOut.of(p) for p in incident.young_people.values()],
            dsl=incident.dsl,
            flagged_for_review=list(incident.flagged_for_review),
            agencies_involved=incident.agencies_involved(),
        )


@router.post("/cases", status_code=status.HTTP_201_CREATED, response_model=CaseOut)
def record_disclosure(
    body: DisclosureIn,
    request: Request,
    response: Response,
    principal: Annotated[Principal, Depends(RECORDERS)],
    idempotency_key: Annotated[
        str | None, Header(max_length=200, description="Same key, same case: retries are safe.")
    ] = None,
) -> CaseOut:
    """Step 1: record a disclosure. Returns the case id and its human reference."""
    runtime: ServiceRuntime = request.app.state.runtime
    if runtime.trust.school(body.school) is None:
        raise field_error("school", f"no school {body.school} in this trust")
    if not principal.may_act_for(body.school):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"this token does not act for school {body.school}"
        )
    refuse_future(body.occurred_at)
    try:
        incident, created = intake_of(request).report_incident(
            school=body.school,
            disclosure_route=str(body.disclosure_route),
            summary=body.summary,
            recorded_by=principal.user,
            recorded_by_role=str(principal.role),
            occurred_at=body.occurred_at,
            idempotency_key=idempotency_key,
            young_people=[p.model_dump() for p in body.young_people],
        )
    except (IntakeError, IdempotencyKeyReusedError) as e:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(e)) from None
    except ReferenceBusyError as e:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"{e}; retry with the same Idempotency-Key",
            headers={"Retry-After": "1"},
        ) from None
    if not created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/cases/{incident.id}"
    return CaseOut.of(incident)


@router.get("/cases/{case_id}", response_model=CaseOut)
def get_case(
    case_id: CaseId,
    request: Request,
    response: Response,
    principal: Annotated[Principal, Depends(RECORDERS)],
) -> CaseOut:
    """A case as recorded. Staff see only what they recorded; the DSL and head, their school's.

    The ``ETag`` is the case's version: send it back as ``If-Match`` with a change, and the
    change is refused (409) if someone else changed the case in between."""
    incident = visible_incident(request, principal, case_id)
    response.headers["ETag"] = f'"{incident.version}"'
    return CaseOut.of(incident)
