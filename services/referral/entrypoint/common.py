"""What every referral route shares: who may read and decide, the router, finding a visible
case, and recording an entry on it."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request

from services.referral.application import ReferralNotFoundError, Referrals
from services.referral.domain import Referral
from shared.entries import CaseEntry
from shared.http import application_of, visible_case
from shared.identity import Authorize, Principal, Role
from shared.local_time import read_local_times

CASE_READERS = Authorize(Role.DSL, Role.HEAD, Role.AUDITOR)
OVERSIGHT = Authorize(Role.DSL, Role.HEAD, Role.AUDITOR, Role.TRUST_LEAD)

# One router for every referral route, so that the routes stay listed in one place.
router = APIRouter(tags=["cases"], dependencies=[Depends(read_local_times)])


def referrals_of(request: Request) -> Referrals:
    return application_of(request, Referrals)


def visible_referral(request: Request, principal: Principal, case_id: UUID) -> Referral:
    """The case's referral record, if the principal may see it; else 404."""
    referral: Referral = visible_case(request, principal, case_id, missing=ReferralNotFoundError)
    return referral


def record(
    request: Request, principal: Principal, case_id: UUID, kind: type[CaseEntry], **entry: Any
) -> tuple[CaseEntry, bool]:
    """One entry of a case the principal may see, of a declared ``kind``, with what follows
    from it (:meth:`Referrals.record_entry`)."""
    visible_referral(request, principal, case_id)
    return referrals_of(request).record_entry(
        case_id, kind, recorded_by=principal.user, recorded_by_role=str(principal.role), **entry
    )
