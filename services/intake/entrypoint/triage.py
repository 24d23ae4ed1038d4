"""Step 1 triage: the nine questions and the facts that decide a referral."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request, Response, status
from pydantic import BaseModel, model_validator

from services.intake.domain import ASKED_AS_ONE, TriageRecorded
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
from shared.entry_routes import entry_in
from shared.identity import Principal


class TriageIn(entry_in(TriageRecorded)):  # type: ignore[misc]
    """Step 1 triage: each question answered, or left out to record it as unknown."""

    @model_validator(mode="before")
    @classmethod
    def _not_asked_as_one(cls, data: Any) -> Any:
        # A client written before the two questions were asked apart is told what to send.
        if isinstance(data, dict) and ASKED_AS_ONE in data:
            msg = (
                f"{ASKED_AS_ONE} is asked as two questions now: violent_or_abusive_acts and "
                "acts_unusual_for_development"
            )
            raise ValueError(msg)
        return data


class TriageOut(BaseModel):
    """One triage entry."""

    entry_number: int
    answers: dict[str, Any]
    image_locations: list[dict[str, str]]
    reason: str
    recorded_by: str
    recorded_by_role: str
    occurred_at: datetime
    recorded_at: datetime

    @classmethod
    def of(cls, entry: TriageRecorded) -> TriageOut:
        return cls(
            entry_number=entry.number,
            answers=entry.answers,
            image_locations=entry.image_locations,
            reason=entry.reason,
            recorded_by=entry.recorded_by,
            recorded_by_role=entry.recorded_by_role,
            occurred_at=entry.occurred_at,
            recorded_at=entry.recorded_at,
        )


@router.post(
    "/cases/{case_id}/triage", status_code=status.HTTP_201_CREATED, response_model=TriageOut
)
def record_triage(
    case_id: CaseId,
    body: TriageIn,
    request: Request,
    response: Response,
    principal: Annotated[Principal, Depends(RECORDERS)],
    idempotency_key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> TriageOut:
    """Step 1: record the triage answers. A second entry corrects the first, with its reason;
    both stay in the record."""
    incident = visible_incident(request, principal, case_id)
    values = body.model_dump()
    refuse_future(values["occurred_at"])
    with entry_errors(case_id):
        entry, created = intake_of(request).record_entry(
            incident.id,
            TriageRecorded,
            details={name: value for name, value in values.items() if name != "occurred_at"},
            recorded_by=principal.user,
            recorded_by_role=str(principal.role),
            occurred_at=values["occurred_at"],
            idempotency_key=idempotency_key,
            expected_version=expected_version(if_match),
        )
    if not created:
        response.status_code = status.HTTP_200_OK
    assert isinstance(entry, TriageRecorded)
    return TriageOut.of(entry)


@router.get("/cases/{case_id}/triage", response_model=list[TriageOut])
def get_triage(
    case_id: CaseId, request: Request, principal: Annotated[Principal, Depends(RECORDERS)]
) -> list[TriageOut]:
    """Every triage entry of the case, oldest first: corrections never hide what came before."""
    incident = visible_incident(request, principal, case_id)
    return [TriageOut.of(entry) for entry in incident.triage]
