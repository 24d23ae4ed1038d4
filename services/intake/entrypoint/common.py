"""What every intake route shares: who may record, the router, finding a visible case."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header, HTTPException, Request, status

from services.intake.application import (
    CaseChangedError,
    IdempotencyKeyReusedError,
    IncidentNotFoundError,
    Intake,
)
from services.intake.domain import CLOCK_SKEW, Incident, IntakeError, NeedsReasonError
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


IdempotencyKey = Annotated[
    str | None, Header(max_length=200, description="Same key, same entry: retries are safe.")
]
IfMatch = Annotated[str | None, Header(description="The ETag of the case as you read it.")]


def expected_version(if_match: str | None) -> int | None:
    """The case version an ``If-Match`` header names (an ETag from GET /cases/{id})."""
    if if_match is None:
        return None
    try:
        return int(if_match.strip().strip('"'))
    except ValueError:
        raise field_error("if-match", "If-Match must be an ETag from GET /cases/{id}") from None


@contextmanager
def entry_errors(case_id: UUID) -> Iterator[None]:
    """How a refused entry of a case is answered: 422 naming the rule, or 409 with what to do."""
    try:
        yield
    except NeedsReasonError as e:
        raise field_error("reason", str(e)) from None
    except (IntakeError, IdempotencyKeyReusedError) as e:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(e)) from None
    except CaseChangedError as e:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"{e}: read the case again (GET /cases/{case_id}), check your entry still stands, "
            "and send it with the new ETag as If-Match",
        ) from None
