"""Events the referral service publishes (policy steps 5-6)."""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.contracts import (
    CaseContract,
    CaseEntryContract,
    EntryRecordedContract,
    Personal,
    register,
)
from shared.vocabulary import Action


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


class ActionStateV1(BaseModel):
    """An action as it stands right after an assessment: referral's rules applied to what the
    policy requires now and to the DSL's decisions before it. The DSL's words stay with each
    decision's own contract (:class:`ActionCompletedV1`, :class:`ActionDeclinedV1`)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    action: str = Field(
        description="police, ceop, childrens_social_care, parents_or_carers, hosting_site, "
        "senior_management, dsl_record"
    )
    level: Literal["required", "recommended", "dsl_decides", "no_longer_required"] = Field(
        description="As the latest assessment asks it; no_longer_required when it no longer "
        "asks for an action still open."
    )
    why: str
    declinable: bool
    status: Literal["open", "done", "declined"] = Field(
        description="open again when the policy no longer lets a declined action be declined."
    )
    required_since: AwareDatetime = Field(
        description="Since when it is asked at this level: the assessment that (re)opened it."
    )
    due_at: AwareDatetime
    policy_version: str = Field(description="Of the latest assessment that asked for it.")


@register
class AssessmentRecordedV1(CaseContract):
    """The referral service assessed a case's facts against a policy version."""

    subject: ClassVar[str] = "referral.assessment.recorded.v1"

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
    classification_reason: str = Field(
        default="",
        # Left out while empty, so that an assessment published before it (or under a version
        # that gives none) encodes to the very bytes it did: review hashes each payload.
        exclude_if=lambda reason: not reason,
        description="Why the case is classified so, naming the facts that decided it (added "
        "within v1, from policy uk-2024.3 on; empty or absent: not stated).",
    )
    actions_after: tuple[ActionStateV1, ...] | None = Field(
        default=None,
        description="Every action of the case as it stands right after this assessment, as "
        "referral decided it from `actions` and the decisions before; the DSL's decisions "
        "that follow change it without a new assessment. Null when referral published no "
        "states (assessments recorded before it kept them): `actions` is all there is.",
    )
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


__all__ = ["Action"]


@register
class ActionCompletedV1(CaseEntryContract):
    """Step 6: the DSL did what an action asked (a referral made, parents told, the image
    reported to the site), how, with whom, and the other side's reference."""

    subject: ClassVar[str] = "referral.action.completed.v1"

    action: Action
    how: str
    whom: Personal
    their_reference: str = Field(
        default="", description="Police incident number, CEOP report id, MASH reference…"
    )


@register
class ActionDeclinedV1(CaseEntryContract):
    """Step 6: the DSL decided not to take an action, with the written reason (for parents:
    that telling them would put the young person at risk)."""

    subject: ClassVar[str] = "referral.action.declined.v1"

    action: Action
    reason: Personal


@register
class ClassificationOverriddenV1(CaseEntryContract):
    """Step 5: the DSL's own classification, with the reason; the computed one stands beside
    it in the assessments."""

    subject: ClassVar[str] = "referral.classification.overridden.v1"

    classification: Literal["aggravated", "experimental"]
    subtype: str
    reason: Personal


@register
class RiskAssessedV1(CaseEntryContract):
    """Step 5: the DSL's risk assessment: the conclusion and its reasons (the structured
    factors stay in referral; the assessment that follows publishes what they decided)."""

    subject: ClassVar[str] = "referral.risk.assessed.v1"

    conclusion: Literal["low", "medium", "high"]
    reasons: Personal


@register
class SafeguardRecordedV1(CaseEntryContract):
    """Step 5: a safeguard for a young person: counselling, a protection plan, support."""

    subject: ClassVar[str] = "referral.safeguard.recorded.v1"

    pseudonym: Personal
    kind: Literal["counselling", "protection_plan", "support", "other"]
    detail: Personal


@register
class PoliceOutcomeRecordedV1(CaseEntryContract):
    """The police's outcome, its code as they gave it (21, 22, charged, no_further_action…)."""

    subject: ClassVar[str] = "referral.police_outcome.recorded.v1"

    code: str
    outcome_date: date
    police_reference: str
    note: Personal = ""


@register
class ActionEscalatedV1(CaseContract):
    """Step 6's deadlines: an action still outstanding past its deadline, escalated to the DSL
    (as soon as it was overdue) or to the head (later, by the rule of its policy version)."""

    subject: ClassVar[str] = "referral.action.escalated.v1"

    action: Action
    to: Literal["dsl", "head"]
    due_at: AwareDatetime = Field(description="The deadline that lapsed.")
    escalate_at: AwareDatetime = Field(description="When this step of escalation fell due.")
    policy_version: str
    rule: str = Field(description="The escalation rule of that policy version, in words.")
    recorded_by: str
    occurred_at: AwareDatetime
    recorded_at: AwareDatetime


@register
class ReferralEntryRecordedV1(EntryRecordedContract):
    """An entry of steps 5-6 of a kind with no contract of its own (see the base)."""

    subject: ClassVar[str] = "referral.entry.recorded.v1"
