"""What every intake route shares: who may record, the router, finding a visible case."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from fastapi import APIRouter, HTTPException, Request, status

from services.intake.application import IncidentNotFoundError, Intake
from services.intake.domain import CLOCK_SKEW, Incident
from shared.identity import Authorize, Principal, Role, case_not_found, hide_unless_visible
from shared.runtime import ServiceRuntime

RECORDERS = Authorize(Role.STAFF, Role.DSL, Role.HEAD)

# One router for every intake route, so that the routes stay listed in one place.
router = APIRouter(tags=["cases"])


def intake_of(request: Request) -> Intake:
    runtime: ServiceRuntime = request.app.state.runtime
    assert isinstance(runtime.app, Intake)
    return runtime.app


def visible_incident(request: Request, principal: Principal, case_id: UUID) -> Incident:
    """The case, if the principal may see it; else 404, as for a case that does not exist."""
    try:
        incident = intake_of(request).get_incident(case_id)
    except IncidentNotFoundError:
        raise case_not_found() from None
    hide_unless_visible(principal, incident.school)
    if principal.role == Role.STAFF and incident.recorded_by != principal.user:
        raise case_not_found()
    return incident


def refuse_future(occurred_at: datetime | None) -> None:
    """A time later than now (beyond a school clock running a little fast) is a mistake."""
    if occurred_at is not None and occurred_at > datetime.now(UTC) + CLOCK_SKEW:
        raise field_error("occurred_at", "occurred_at is in the future")


def field_error(field: str, message: str) -> HTTPException:
    """A 422 that names the field, as pydantic's own do."""
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        [{"loc": ["body", field], "msg": message, "type": "value_error"}],
    )
