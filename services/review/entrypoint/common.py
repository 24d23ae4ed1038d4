"""What every review route shares: the router, who reads cases, finding a visible case."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Request

from services.review.application import CaseNotFoundError, Reviews
from services.review.domain import CaseRecord
from shared.identity import Authorize, Principal, Role, case_not_found, hide_unless_visible
from shared.runtime import ServiceRuntime

CASE_READERS = Authorize(Role.DSL, Role.HEAD, Role.AUDITOR)
DECIDERS = Authorize(Role.DSL, Role.HEAD)

# One router for every review route, so that the routes stay listed in one place.
router = APIRouter(tags=["cases"])


def reviews_of(request: Request) -> Reviews:
    runtime: ServiceRuntime = request.app.state.runtime
    assert isinstance(runtime.app, Reviews)
    return runtime.app


def visible_case(request: Request, principal: Principal, case_id: UUID) -> CaseRecord:
    """The case, if the principal may see it; else 404, as for a case that does not exist."""
    try:
        record = reviews_of(request).get_case(case_id)
    except CaseNotFoundError:
        raise case_not_found() from None
    hide_unless_visible(principal, record.school)
    return record
