"""Referral's aggregate: one per case, holding each assessment of its facts, the actions the
policy requires with their deadlines, and the DSL's decisions (policy steps 5 and 6).

The aggregate lives in this module itself, so that the topics of stored events stay
``services.referral.domain:Referral.…``.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from services.referral.domain.actions import (
    DECLINED,
    DONE,
    Action,
    ActionError,
    apply_assessment,
    assessed,
    canonical_states,
    check_decision,
)
from services.referral.domain.deadlines import escalations_due
from services.referral.policy import Assessment, CaseFacts, Criterion, RequiredAction
from shared.entries import CaseEntry, EntryError, NeedsReasonError, Recording

__all__ = [
    "CLASSIFICATIONS",
    "CONCLUSIONS",
    "SAFEGUARDS",
    "Action",
    "ActionError",
    "Referral",
    "outcome_of",
]

CLASSIFICATIONS = {
    "aggravated": ("adult_involved", "youth_intent_to_harm", "youth_reckless_misuse"),
    "experimental": ("romantic", "sexual_attention_seeking", "other"),
}
CONCLUSIONS = ("low", "medium", "high")
SAFEGUARDS = ("counselling", "protection_plan", "support", "other")


def outcome_of(canonical: str) -> Assessment:
    """An assessment back from the canonical JSON it was recorded as."""
    data = json.loads(canonical)
    return Assessment(
        classification=data["classification"],
        missing_facts=tuple(data["missing_facts"]),
        policy_version=data["policy_version"],
        subtype=data["subtype"],
        criteria=tuple(
            Criterion(c["number"], c["name"], c["status"], tuple(c["decided_by"]))
            for c in data["criteria"]
        ),
        actions=tuple(RequiredAction(**a) for a in data["actions"]),
        classification_reason=data.get("classification_reason", ""),
    )


class Referral(Aggregate):
    """What the policy requires for one case, and what was decided."""

    class Opened(Aggregate.Created):
        school: str
        reference: str

    @event(Opened)
    def __init__(self, id: UUID, school: str, reference: str) -> None:
        self.school = school
        self.reference = reference
        self.assessments: list[Referral.AssessmentRecorded] = []
        self.actions: dict[str, Action] = {}
        self.decisions: list[CaseEntry] = []
        self.overrides: list[Referral.ClassificationOverridden] = []
        self.risk_assessments: list[Referral.RiskAssessed] = []
        self.safeguards: list[Referral.SafeguardRecorded] = []
        self.police_outcomes: list[Referral.PoliceOutcomeRecorded] = []
        self.entry_keys: dict[str, CaseEntry] = {}
        self.escalations: list[Referral.ActionEscalated] = []

    class AssessmentRecorded(Aggregate.Event):
        """The facts known at ``occurred_at`` were assessed under ``policy_version``: both the
        facts read and the outcome are kept, as canonical JSON, so that a replay can re-run the
        version and compare byte for byte. ``action_states`` are the case's actions as they
        stand right after it (:func:`canonical_states`), published so that no other service
        re-applies referral's rules to the outcome; :meth:`apply` makes exactly those of them."""

        class_version = 3
        PERSONAL_FIELDS: ClassVar[tuple[str, ...]] = ("facts",)

        school: str
        reference: str
        number: int
        facts: str
        outcome: str
        action_states: str
        policy_version: str
        caused_by: str
        recorded_by: str
        occurred_at: datetime
        recorded_at: datetime

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """The first build kept the classification and missing facts only, not the facts
            it read: ``facts`` is empty for those ("not recorded")."""
            state["outcome"] = Assessment(
                classification=state.pop("classification"),
                missing_facts=tuple(state.pop("missing_facts")),
                policy_version=state["policy_version"],
            ).canonical()
            state["facts"] = ""

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            """Assessments recorded before the actions' states were kept: ``action_states`` is
            empty ("not recorded", published without them). The aggregate's actions are what
            :meth:`apply` makes of the outcome, as they always were."""
            state["action_states"] = ""

        def apply(self, aggregate: Any) -> None:
            aggregate.assessments.append(self)
            apply_assessment(
                aggregate.actions, outcome_of(self.outcome), self.occurred_at, self.number
            )

    def record_assessment(
        self, facts: CaseFacts, outcome: Assessment, caused_by: str, by: str, at: datetime
    ) -> None:
        number = len(self.assessments) + 1
        canonical = outcome.canonical()
        # The outcome as the event reads it back, through the rule its apply runs, on a copy:
        # the states recorded (and published) are the ones the aggregate then holds.
        after = assessed(self.actions, outcome_of(canonical), at, number)
        self.trigger_event(
            self.AssessmentRecorded,
            school=self.school,
            reference=self.reference,
            number=number,
            facts=facts.canonical,
            outcome=canonical,
            action_states=canonical_states(after),
            policy_version=outcome.policy_version,
            caused_by=caused_by,
            recorded_by=by,
            occurred_at=at,
            recorded_at=at,
        )

    class ActionEscalated(Aggregate.Event):
        """An action was still outstanding past its deadline: escalated ``to`` the DSL (as soon
        as it was overdue) or the head (later, by the rule of its policy version, named here),
        each once per deadline. Noticed at ``occurred_at``, due from ``escalate_at``."""

        school: str
        reference: str
        action: str
        to: str
        due_at: datetime
        escalate_at: datetime
        policy_version: str
        rule: str
        recorded_by: str
        occurred_at: datetime
        recorded_at: datetime

        def apply(self, aggregate: Any) -> None:
            aggregate.escalations.append(self)
            action = aggregate.actions.get(self.action)
            if action is not None and action.due_at == self.due_at:
                action.escalated_to.append(self.to)

    def escalate_overdue(self, now: datetime) -> None:
        """Escalate every outstanding action whose deadline has lapsed, each step once."""
        for action in list(self.actions.values()):
            for due in escalations_due(action, now):
                self.trigger_event(
                    self.ActionEscalated,
                    school=self.school,
                    reference=self.reference,
                    action=due.action,
                    to=due.to,
                    due_at=due.due_at,
                    escalate_at=due.escalate_at,
                    policy_version=due.policy_version,
                    rule=due.rule,
                    recorded_by="referral-service",  # the deadline lapsed: no one recorded it
                    occurred_at=now,
                    recorded_at=now,
                )

    @property
    def facts(self) -> CaseFacts:
        """The facts as last assessed."""
        if not self.assessments or not self.assessments[-1].facts:
            return CaseFacts()
        return CaseFacts(self.assessments[-1].facts)

    @property
    def assessment(self) -> Assessment | None:
        """The latest assessment."""
        return outcome_of(self.assessments[-1].outcome) if self.assessments else None

    @property
    def classification(self) -> tuple[str, str]:
        """The classification the case goes by: the DSL's override, else the computed one."""
        if self.overrides:
            return self.overrides[-1].classification, self.overrides[-1].subtype
        latest = self.assessment
        return (latest.classification, latest.subtype) if latest else ("undetermined", "")

    def _record(self, entry: type[CaseEntry], by: Recording, /, **fields: Any) -> None:
        self.trigger_event(
            entry, school=self.school, reference=self.reference, **by.fields(), **fields
        )

    class ActionCompleted(CaseEntry):
        """The DSL did what an action asked: when, how, whom they spoke to, and the other
        side's reference (police incident number, CEOP report id, MASH reference)."""

        KEPT_IN = "decisions"
        PERSONAL_FIELDS: ClassVar[tuple[str, ...]] = ("whom",)

        action: str
        how: str
        whom: str
        their_reference: str

        def apply(self, aggregate: Any) -> None:
            super().apply(aggregate)
            done = aggregate.actions[self.action]
            done.status = DONE
            done.decision = {
                "how": self.how,
                "whom": self.whom,
                "their_reference": self.their_reference,
            }

    def complete_action(
        self, by: Recording, action: str, how: str, whom: str, their_reference: str
    ) -> None:
        check_decision(self.actions, action, declining=False, reason="")
        self._record(
            self.ActionCompleted,
            by,
            action=action,
            how=how,
            whom=whom,
            their_reference=their_reference,
        )

    class ActionDeclined(CaseEntry):
        """The DSL decided not to take an action, with the written reason (for parents: that
        telling them would put the young person at risk)."""

        KEPT_IN = "decisions"
        PERSONAL_FIELDS: ClassVar[tuple[str, ...]] = ("reason",)

        action: str
        reason: str

        def apply(self, aggregate: Any) -> None:
            super().apply(aggregate)
            declined = aggregate.actions[self.action]
            declined.status = DECLINED
            declined.decision = {"reason": self.reason}

    def decline_action(self, by: Recording, action: str, reason: str) -> None:
        """Refused for an action the policy does not let be declined, and without a reason."""
        check_decision(self.actions, action, declining=True, reason=reason)
        self._record(self.ActionDeclined, by, action=action, reason=reason)

    class ClassificationOverridden(CaseEntry):
        """The DSL's own classification, with the reason; the computed one stays beside it."""

        KEPT_IN = "overrides"
        PERSONAL_FIELDS: ClassVar[tuple[str, ...]] = ("reason",)

        classification: str
        subtype: str
        reason: str

    def override_classification(
        self, by: Recording, classification: str, subtype: str, reason: str
    ) -> None:
        if subtype not in CLASSIFICATIONS.get(classification, ()):
            choices = "; ".join(f"{c}: {', '.join(s)}" for c, s in CLASSIFICATIONS.items())
            msg = f"classification and subtype must be one of {choices}"
            raise EntryError(msg)
        if not reason.strip():
            msg = "overriding the computed classification needs the reason"
            raise NeedsReasonError(msg)
        self._record(
            self.ClassificationOverridden,
            by,
            classification=classification,
            subtype=subtype,
            reason=reason,
        )

    class RiskAssessed(CaseEntry):
        """Step 5: the DSL's risk assessment: the structured factors, the conclusion and why."""

        KEPT_IN = "risk_assessments"
        PERSONAL_FIELDS: ClassVar[tuple[str, ...]] = ("reasons",)

        factors: dict[str, Any]
        conclusion: str
        reasons: str

    def assess_risk(
        self, by: Recording, factors: dict[str, Any], conclusion: str, reasons: str
    ) -> None:
        if conclusion not in CONCLUSIONS:
            msg = f"conclusion must be one of {', '.join(CONCLUSIONS)}"
            raise EntryError(msg)
        if not reasons.strip():
            msg = "a risk assessment gives the reasons for its conclusion"
            raise NeedsReasonError(msg)
        self._record(self.RiskAssessed, by, factors=factors, conclusion=conclusion, reasons=reasons)

    class SafeguardRecorded(CaseEntry):
        """Step 5: a safeguard for a young person: counselling, a protection plan, support."""

        KEPT_IN = "safeguards"
        PERSONAL_FIELDS: ClassVar[tuple[str, ...]] = ("pseudonym", "detail")

        pseudonym: str
        kind: str
        detail: str

    def record_safeguard(self, by: Recording, pseudonym: str, kind: str, detail: str) -> None:
        if kind not in SAFEGUARDS:
            msg = f"kind must be one of {', '.join(SAFEGUARDS)}"
            raise EntryError(msg)
        known = [p["pseudonym"] for p in self.facts.young_people()]
        if pseudonym not in known:
            msg = (
                f"no young person {pseudonym} on this case (recorded: {', '.join(known) or 'none'})"
            )
            raise EntryError(msg)
        self._record(self.SafeguardRecorded, by, pseudonym=pseudonym, kind=kind, detail=detail)

    class PoliceOutcomeRecorded(CaseEntry):
        """The police's outcome, its code held as data (21, 22, charged, no further action…)."""

        KEPT_IN = "police_outcomes"

        code: str
        outcome_date: str
        police_reference: str
        note: str

    def record_police_outcome(
        self, by: Recording, code: str, outcome_date: str, police_reference: str, note: str
    ) -> None:
        if not code.strip():
            msg = "code: the police's outcome code (21, 22, charged, no_further_action, other)"
            raise EntryError(msg)
        self._record(
            self.PoliceOutcomeRecorded,
            by,
            code=code,
            outcome_date=outcome_date,
            police_reference=police_reference,
            note=note,
        )
