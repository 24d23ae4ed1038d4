"""Events the referral service publishes (policy steps 5-6)."""

from __future__ import annotations

from typing import ClassVar, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.contracts import Contract, Personal, register


class CriterionV1(BaseModel):
    """One of the five national criteria for an immediate referral, and the facts that
    decided it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    number: int = Field(ge=1, le=5)
    name: str
    status: Literal["met", "not_met", "unknown"]
    decided_by: tuple[str, ...]


class RequiredActionV1(BaseModel):
    """An action the policy requires, recommends or leaves to the DSL, why, and within how many
    minutes of the assessment."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    action: str = Field(
        description="police, ceop, childrens_social_care, parents_or_carers, hosting_site, "
        "senior_management, dsl_record"
    )
    level: Literal["required", "recommended", "dsl_decides"]
    why: str
    due_within_minutes: int = Field(ge=0)
    declinable: bool


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
    subtype: str = Field(
        default="",
        description="adult_involved, youth_intent_to_harm, youth_reckless_misuse; romantic, "
        "sexual_attention_seeking, other; empty while undetermined.",
    )
    criteria: tuple[CriterionV1, ...] = ()
    actions: tuple[RequiredActionV1, ...] = ()
    facts: Personal = Field(
        default="",
        description="The facts assessed, as canonical JSON: a replay re-runs the policy "
        "version over them.",
    )
    caused_by: str = Field(
        description="What caused it: an upstream message (intake:12) or a DSL's entry "
        "(referral:risk_assessment:1)."
    )
    recorded_by: str
    occurred_at: AwareDatetime
    recorded_at: AwareDatetime
