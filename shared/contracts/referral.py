"""Events the referral service publishes (policy steps 5-6)."""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from pydantic import AwareDatetime, Field

from shared.contracts import Contract, register


@register
class AssessmentRecordedV1(Contract):
    """The referral service assessed a case's facts against a policy version."""

    subject: ClassVar[str] = "referral.assessment.recorded.v1"
    producer: ClassVar[str] = "referral"

    case_id: UUID
    school: str = Field(pattern=r"^[A-Z]{2,8}$")
    reference: str
    assessment_number: int = Field(ge=1)
    classification: str = Field(
        description="aggravated, experimental or undetermined (Wolak and Finkelhor)."
    )
    missing_facts: tuple[str, ...] = Field(
        default=(), description="Facts still needed before the case can be classified."
    )
    policy_version: str
    caused_by: str = Field(description="The upstream message that caused it, e.g. intake:12.")
    recorded_by: str
    occurred_at: AwareDatetime
    recorded_at: AwareDatetime
