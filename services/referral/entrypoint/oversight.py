"""What the trust oversees across its schools: the actions past their deadline."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.referral.application.pending import OutstandingAction
from services.referral.entrypoint.common import OVERSIGHT, referrals_of, router
from shared.http import SchoolAsked
from shared.identity import Principal, schools_listed
from shared.runtime import ServiceRuntime


@router.get("/overdue", response_model=list[OutstandingAction], tags=["oversight"])
def get_overdue(
    request: Request,
    principal: Annotated[Principal, Depends(OVERSIGHT)],
    school: SchoolAsked = None,
) -> list[OutstandingAction]:
    """Actions past their deadline and still outstanding, the longest overdue first, each with
    whom it was escalated to: of one school, or of every school the token names (across the
    trust for a trust-wide token). A school the token does not name is 404."""
    runtime: ServiceRuntime = request.app.state.runtime
    schools = schools_listed(principal, runtime.trust, school)
    return [a for a in referrals_of(request).overdue_actions(school) if a.school in schools]
