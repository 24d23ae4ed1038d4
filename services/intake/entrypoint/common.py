"""What every intake route shares: who may record, the router, finding a visible case."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request

from services.intake.application import IncidentNotFoundError, Intake
from services.intake.domain import Incident
from shared.entries import CaseEntry
from shared.http import (
    CaseId,
    IdempotencyKey,
    IfMatch,
    application_of,
    expected_version,
    field_error,
    refuse_future,
    visible_case,
)
from shared.http import entry_errors as shared_entry_errors
from shared.identity import Authorize, Principal, Role, case_not_found
from shared.local_time import read_local_times

__all__ = [
    "DECIDERS",
    "HEAD",
    "RECORDERS",
    "CaseId",
    "IdempotencyKey",
    "IfMatch",
    "entry_errors",
    "expected_version",
    "field_error",
    "intake_of",
    "record",
    "refuse_future",
    "router",
    "visible_incident",
]

RECORDERS = Authorize(Role.STAFF, Role.DSL, Role.HEAD)
DECIDERS = Authorize(Role.DSL, Role.HEAD)
HEAD = Authorize(Role.HEAD)

# One router for every intake route, so that the routes stay listed in one place.
router = APIRouter(tags=["cases"], dependencies=[Depends(read_local_times)])


def intake_of(request: Request) -> Intake:
    return application_of(request, Intake)


def visible_incident(request: Request, principal: Principal, case_id: UUID) -> Incident:
    """The case, if the principal may see it (a member of staff: the cases they recorded); else
    404, as for a case that does not exist."""
    incident: Incident = visible_case(request, principal, case_id, missing=IncidentNotFoundError)
    if principal.role == Role.STAFF and incident.recorded_by != principal.user:
        raise case_not_found()
    return incident


def record(
    request: Request, principal: Principal, case_id: UUID, kind: type[CaseEntry], **entry: Any
) -> tuple[CaseEntry, bool]:
    """One entry of a case the principal may see, of a declared ``kind``."""
    incident = visible_incident(request, principal, case_id)
    intake = intake_of(request)
    return intake.record_on(
        incident,
        kind.record,
        then=intake.follows(kind),
        recorded_by=principal.user,
        recorded_by_role=str(principal.role),
        **entry,
    )


@contextmanager
def entry_errors(case_id: UUID) -> Iterator[None]:
    """How a refused entry of a case is answered: see :func:`shared.http.entry_errors`."""
    with shared_entry_errors(f"/cases/{case_id}"):
        yield
