"""Referral's HTTP API: the DSL reads each case's assessments (decisions come with step 5-6).

Run it with ``safeguard serve referral``; OpenAPI at ``/docs``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, FastAPI, Request
from pydantic import BaseModel

from services.referral.adapters.contracts import PUBLISHED, to_contract
from services.referral.application import ReferralNotFoundError, Referrals
from services.referral.domain import Referral, outcome_of
from shared.identity import Authorize, Principal, Role, case_not_found, hide_unless_visible
from shared.runtime import ServiceRuntime, ServiceSpec, create_http_app
from shared.settings import Settings

SPEC = ServiceSpec(
    name="referral",
    application=Referrals,
    to_contract=to_contract,
    published=PUBLISHED,
    upstreams=("intake",),
    description="Policy steps 5-6: assessment, required actions, notifications, decisions.",
)

CASE_READERS = Authorize(Role.DSL, Role.HEAD, Role.AUDITOR)


class AssessmentOut(BaseModel):
    number: int
    classification: str
    subtype: str
    missing_facts: list[str]
    policy_version: str
    caused_by: str
    recorded_by: str
    occurred_at: datetime
    recorded_at: datetime

    @classmethod
    def of(cls, recorded: Referral.AssessmentRecorded) -> AssessmentOut:
        outcome = outcome_of(recorded.outcome)
        return cls(
            number=recorded.number,
            classification=outcome.classification,
            subtype=outcome.subtype,
            missing_facts=list(outcome.missing_facts),
            policy_version=recorded.policy_version,
            caused_by=recorded.caused_by,
            recorded_by=recorded.recorded_by,
            occurred_at=recorded.occurred_at,
            recorded_at=recorded.recorded_at,
        )


class ReferralOut(BaseModel):
    """A case's referral record."""

    case_id: UUID
    school: str
    reference: str
    assessments: list[AssessmentOut]


router = APIRouter(tags=["cases"])


@router.get("/cases/{case_id}/assessments", response_model=ReferralOut)
def get_assessments(
    case_id: UUID, request: Request, principal: Annotated[Principal, Depends(CASE_READERS)]
) -> ReferralOut:
    """Every assessment of a case, oldest first, with the policy version that made it."""
    runtime: ServiceRuntime = request.app.state.runtime
    assert isinstance(runtime.app, Referrals)
    try:
        referral = runtime.app.get_referral(case_id)
    except ReferralNotFoundError:
        raise case_not_found() from None
    hide_unless_visible(principal, referral.school)
    return ReferralOut(
        case_id=case_id,
        school=referral.school,
        reference=referral.reference,
        assessments=[AssessmentOut.of(e) for e in referral.assessments],
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    """The referral service's HTTP app."""
    return create_http_app(SPEC, settings or Settings(), router)
