"""Every kind of entry of steps 1 to 4 that is sent as it is kept: one ``POST`` each, made
from the kind's declaration in the domain (:func:`shared.entry_routes.add_entry_routes`), with
``Idempotency-Key`` and ``If-Match``; the domain refuses (422) what the policy does not allow,
naming the rule. Triage and the young people have routes of their own (:mod:`.triage`,
:mod:`.young_people`): what is sent there is shaped otherwise than what is kept."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from services.intake.domain import ENTRY_KINDS, LeadershipInformed, TriageRecorded
from services.intake.domain import YoungPersonRecorded as YoungPersonRecorded
from services.intake.entrypoint.common import RECORDERS, CaseId, record, router, visible_incident
from shared.entry_routes import add_entry_routes, entry_out
from shared.identity import Principal

add_entry_routes(
    router,
    [kind for kind in ENTRY_KINDS if kind not in (TriageRecorded, YoungPersonRecorded)],
    record=record,
)

InformedOut = entry_out(LeadershipInformed)


@router.get("/cases/{case_id}/informed", response_model=list[InformedOut])  # type: ignore[valid-type]
def get_informed(
    case_id: CaseId, request: Request, principal: Annotated[Principal, Depends(RECORDERS)]
) -> list[Any]:
    """Everyone recorded as told of the incident, oldest first."""
    incident = visible_incident(request, principal, case_id)
    return [InformedOut.of(entry) for entry in incident.informed]
