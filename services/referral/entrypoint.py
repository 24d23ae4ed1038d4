"""Referral's HTTP API (policy steps 5-6): the DSL reads what the policy requires of a case and
by when, and records each decision: an action done or declined with its reason, the
classification overridden, the risk assessment, safeguards, the police's outcome.

Run it with ``safeguard serve referral``; OpenAPI at ``/docs``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from pydantic import BaseModel, Field

from services.referral.adapters.contracts import PUBLISHED, to_contract
from services.referral.application import ReferralNotFoundError, Referrals
from services.referral.domain import Referral, outcome_of
from services.referral.followups import BACKGROUND
from services.referral.pending import OutstandingAction
from shared.entries import CaseEntry
from shared.http import ActionOut, CaseId, EntryIn, EntryOut, SchoolAsked, add_entry_route
from shared.identity import (
    Authorize,
    Principal,
    Role,
    case_not_found,
    hide_unless_visible,
    schools_listed,
)
from shared.imagery import FreeText
from shared.local_time import read_local_times
from shared.runtime import ServiceRuntime, ServiceSpec, create_http_app
from shared.settings import Settings

SPEC = ServiceSpec(
    name="referral",
    application=Referrals,
    to_contract=to_contract,
    published=PUBLISHED,
    upstreams=("intake",),
    # Delivers notices to the trust's recipients and escalates overdue actions.
    background=BACKGROUND,
    description="Policy steps 5-6: assessment, required actions, notifications, decisions.",
)

CASE_READERS = Authorize(Role.DSL, Role.HEAD, Role.AUDITOR)
OVERSIGHT = Authorize(Role.DSL, Role.HEAD, Role.AUDITOR, Role.TRUST_LEAD)
DECIDERS = Authorize(Role.DSL, Role.HEAD)
ACTIONS = Literal[
    "police",
    "ceop",
    "childrens_social_care",
    "parents_or_carers",
    "hosting_site",
    "senior_management",
    "dsl_record",
]
YesNo = Literal["yes", "no", "unknown"]

router = APIRouter(tags=["cases"], dependencies=[Depends(read_local_times)])


def referrals_of(request: Request) -> Referrals:
    runtime: ServiceRuntime = request.app.state.runtime
    assert isinstance(runtime.app, Referrals)
    return runtime.app


def visible_referral(request: Request, principal: Principal, case_id: UUID) -> Referral:
    """The case's referral record, if the principal may see it; else 404."""
    try:
        referral = referrals_of(request).get_referral(case_id)
    except ReferralNotFoundError:
        raise case_not_found() from None
    hide_unless_visible(principal, referral.school)
    return referral


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
        outcome = outcome_of(recorded.outcome)
        return cls(
            number=recorded.number,
            classification=outcome.classification,
            subtype=outcome.subtype,
            classification_reason=outcome.classification_reason,
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


class OverdueOut(BaseModel):
    """An action past its deadline and still outstanding, and whom it was escalated to."""

    case_id: UUID
    school: str
    reference: str
    action: str
    level: str
    why: str
    required_since: datetime
    due_at: datetime
    escalate_to_head_at: datetime
    escalated_to: list[str]
    policy_version: str

    @classmethod
    def of(cls, outstanding: OutstandingAction) -> OverdueOut:
        return cls(**{**vars(outstanding), "escalated_to": list(outstanding.escalated_to)})


@router.get("/overdue", response_model=list[OverdueOut], tags=["oversight"])
def get_overdue(
    request: Request,
    principal: Annotated[Principal, Depends(OVERSIGHT)],
    school: SchoolAsked = None,
) -> list[OverdueOut]:
    """Actions past their deadline and still outstanding, the longest overdue first: of one
    school, or of every school the token names (across the trust for a trust-wide token). A
    school the token does not name is 404."""
    runtime: ServiceRuntime = request.app.state.runtime
    schools = schools_listed(principal, runtime.trust, school)
    overdue = referrals_of(request).overdue_actions(school)
    return [OverdueOut.of(a) for a in overdue if a.school in schools]


# What the DSL sends: each kind of entry's facts once, then what is sent and what is answered.


class Completion(BaseModel):
    action: ACTIONS
    how: Literal["in_person", "phone", "email", "online_form", "letter", "secure_system"]
    whom: FreeText = Field(
        min_length=1, max_length=200, description="Whom the DSL dealt with (name and role)."
    )
    their_reference: FreeText = Field(
        default="",
        max_length=200,
        description="The other side's reference: police incident number, CEOP report id, "
        "MASH reference, the hosting site's report number.",
    )


class CompletionIn(EntryIn, Completion):
    """An action done."""


class CompletionOut(EntryOut, Completion):
    """An action done."""


class Declining(BaseModel):
    action: ACTIONS
    reason: FreeText = Field(min_length=1, max_length=5000)


class DecliningIn(EntryIn, Declining):
    """An action not taken, with the written reason."""


class DecliningOut(EntryOut, Declining):
    """An action not taken, with the written reason."""


class Override(BaseModel):
    classification: Literal["aggravated", "experimental"]
    subtype: Literal[
        "adult_involved",
        "youth_intent_to_harm",
        "youth_reckless_misuse",
        "romantic",
        "sexual_attention_seeking",
        "other",
    ]
    reason: FreeText = Field(min_length=1, max_length=5000)


class OverrideIn(EntryIn, Override):
    """The DSL's own classification, with the reason."""


class OverrideOut(EntryOut, Override):
    """The DSL's own classification, with the reason."""


class RiskFactors(BaseModel):
    """Step 5's structured factors."""

    willing_or_coerced: Literal["willing", "coerced", "unknown"]
    spread_beyond_intended_recipient: YesNo
    public_platform: YesNo
    several_recipients: YesNo
    age_gap_years: int | None = Field(default=None, ge=0, le=20)
    vulnerabilities: YesNo
    earlier_incidents: YesNo
    intent_to_harm: YesNo = Field(description="Conflict, extortion, threats, malice, abuse.")
    without_consent: YesNo = Field(
        description="Taken, sent or shown without the pictured young person's knowledge or "
        "against their will."
    )
    experimental_context: Literal["romantic", "sexual_attention_seeking", "other", "unknown"]


class RiskAssessment(BaseModel):
    factors: RiskFactors
    conclusion: Literal["low", "medium", "high"]
    reasons: FreeText = Field(min_length=1, max_length=5000)


class RiskAssessmentIn(EntryIn, RiskAssessment):
    """Step 5: the DSL's risk assessment. The case is reassessed with it at once."""


class RiskAssessmentOut(EntryOut, RiskAssessment):
    """Step 5: the DSL's risk assessment."""


class Safeguard(BaseModel):
    pseudonym: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9-]{1,39}$", examples=["YP-1"])
    kind: Literal["counselling", "protection_plan", "support", "other"]
    detail: FreeText = Field(min_length=1, max_length=2000)


class SafeguardIn(EntryIn, Safeguard):
    """Step 5: a safeguard for a young person."""


class SafeguardOut(EntryOut, Safeguard):
    """Step 5: a safeguard for a young person."""


class PoliceOutcome(BaseModel):
    code: str = Field(
        min_length=1,
        max_length=40,
        description="As the police gave it: 21, 22, charged, no_further_action, other…",
    )
    outcome_date: date
    police_reference: FreeText = Field(min_length=1, max_length=200)
    note: FreeText = Field(default="", max_length=2000)


class PoliceOutcomeIn(EntryIn, PoliceOutcome):
    """The police's outcome."""


class PoliceOutcomeOut(EntryOut, PoliceOutcome):
    """The police's outcome."""


def _decide(
    request: Request,
    principal: Principal,
    case_id: UUID,
    command: Callable[..., None],
    *,
    details: dict[str, Any],
    **entry: Any,
) -> tuple[CaseEntry, bool]:
    referral = visible_referral(request, principal, case_id)
    # Stored as plain JSON values: a date as ISO text, the factors as a dict.
    stored = {k: v.isoformat() if isinstance(v, date) else v for k, v in details.items()}
    return referrals_of(request).decide(
        referral.id,
        command,
        details=stored,
        recorded_by=principal.user,
        recorded_by_role=str(principal.role),
        **entry,
    )


for path, command, body, out, description in (
    (
        "actions/completed",
        Referral.complete_action,
        CompletionIn,
        CompletionOut,
        """Step 6: an action done: how, with whom, and the other side's reference.""",
    ),
    (
        "actions/declined",
        Referral.decline_action,
        DecliningIn,
        DecliningOut,
        """Step 6: an action not taken, with the written reason. A required police referral
        cannot be declined (422), nor can senior management's being told or the DSL's record;
        a decision not to refer an experimental case needs its written reasons.""",
    ),
    (
        "classification-overrides",
        Referral.override_classification,
        OverrideIn,
        OverrideOut,
        """Step 5: the DSL's own classification, with the reason; the computed one stays
        beside it.""",
    ),
    (
        "risk-assessments",
        Referral.assess_risk,
        RiskAssessmentIn,
        RiskAssessmentOut,
        """Step 5: the risk assessment's factors, the DSL's conclusion and reasons. The case is
        reassessed with them at once: high risk requires children's social care.""",
    ),
    (
        "safeguards",
        Referral.record_safeguard,
        SafeguardIn,
        SafeguardOut,
        """Step 5: a safeguard for a young person: counselling, a protection plan, support.""",
    ),
    (
        "police-outcomes",
        Referral.record_police_outcome,
        PoliceOutcomeIn,
        PoliceOutcomeOut,
        """The police's outcome, its code as they gave it, with the date and reference.""",
    ),
):
    add_entry_route(
        router,
        f"/cases/{{case_id}}/{path}",
        command,
        body=body,
        out=out,
        who=DECIDERS,
        description=description,
        record=_decide,
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    """The referral service's HTTP app."""
    return create_http_app(SPEC, settings or Settings(), router)
