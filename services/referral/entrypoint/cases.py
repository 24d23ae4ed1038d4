"""A case as referral holds it: its classification and the criteria that decided it, every
action with its deadline and the DSL's decision, and every assessment of it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request, Response
from pydantic import BaseModel, Field

from services.referral.domain import Referral, outcome_of
from services.referral.entrypoint.common import (
    CASE_READERS,
    referrals_of,
    router,
    visible_referral,
)
from shared.http import ActionOut, CaseId
from shared.identity import Principal


class AssessmentOut(BaseModel):
    number: int
    classification: str
    subtype: str
    classification_reason: str = Field(
        description="Why, naming the facts that decided it (policy uk-2024.3 on; else empty)."
    )
    missing_facts: list[str]
    policy_version: str
    caused_by: str
    recorded_by: str
    occurred_at: datetime
    recorded_at: datetime

    @classmethod
    def of(cls, recorded: Referral.AssessmentRecorded) -> AssessmentOut:
        # What was recorded with the assessment, and what the policy found (the outcome).
        known = {**vars(outcome_of(recorded.outcome)), **vars(recorded)}
        return cls(**{name: known[name] for name in cls.model_fields})


class ReferralOut(BaseModel):
    """A case's referral record."""

    case_id: UUID
    school: str
    reference: str
    assessments: list[AssessmentOut]


class CriterionOut(BaseModel):
    number: int
    name: str
    status: str
    decided_by: list[str]


class CaseOut(BaseModel):
    """What the policy requires of a case, by when, and what the DSL decided."""

    case_id: UUID
    school: str
    reference: str
    classification: str = Field(description="The DSL's override if any, else the computed one.")
    subtype: str
    computed_classification: str
    computed_subtype: str
    computed_classification_reason: str = Field(
        description="Why the computed classification, naming the facts that decided it "
        "(policy uk-2024.3 on; else empty)."
    )
    policy_version: str
    missing_facts: list[str]
    criteria: list[CriterionOut]
    actions: list[ActionOut]


@router.get("/cases/{case_id}", response_model=CaseOut)
def get_case(
    case_id: CaseId,
    request: Request,
    response: Response,
    principal: Annotated[Principal, Depends(CASE_READERS)],
) -> CaseOut:
    """The case's classification (the DSL's override beside the computed one), the five
    criteria with the facts that decided each, and every action with its deadline. The
    ``ETag`` is the case's version, for ``If-Match`` on a decision."""
    referral = visible_referral(request, principal, case_id)
    response.headers["ETag"] = f'"{referral.version}"'
    latest = referral.assessment
    assert latest is not None  # the record opens with its first assessment
    classification, subtype = referral.classification
    now = referrals_of(request).clock()
    return CaseOut(
        case_id=case_id,
        school=referral.school,
        reference=referral.reference,
        classification=classification,
        subtype=subtype,
        computed_classification=latest.classification,
        computed_subtype=latest.subtype,
        computed_classification_reason=latest.classification_reason,
        policy_version=latest.policy_version,
        missing_facts=list(latest.missing_facts),
        criteria=[
            CriterionOut(**{**vars(c), "decided_by": list(c.decided_by)}) for c in latest.criteria
        ],
        actions=[ActionOut.of(a, now) for a in referral.actions.values()],
    )


@router.get("/cases/{case_id}/assessments", response_model=ReferralOut)
def get_assessments(
    case_id: CaseId, request: Request, principal: Annotated[Principal, Depends(CASE_READERS)]
) -> ReferralOut:
    """Every assessment of a case, oldest first, with the policy version that made it."""
    referral = visible_referral(request, principal, case_id)
    return ReferralOut(
        case_id=case_id,
        school=referral.school,
        reference=referral.reference,
        assessments=[AssessmentOut.of(e) for e in referral.assessments],
    )
