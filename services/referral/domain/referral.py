"""The case as referral holds it: one :class:`Referral` per case, holding each assessment of its
facts, the actions the policy requires with their deadlines and escalations, and every entry of
steps 5 and 6 the DSL recorded on it.

Each kind of entry is declared in the module of its step (:mod:`.response`, :mod:`.agencies`)
and recorded by its own command (``RiskAssessed.record(referral, by, **facts)``); the referral
keeps each entry as the event itself, in the list the kind names.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from services.referral.domain.actions import (
    Action,
    apply_assessment,
    assessed,
    canonical_states,
)
from services.referral.domain.agencies import (
    ActionCompleted,
    ActionDeclined,
    PoliceOutcomeRecorded,
)
from services.referral.domain.deadlines import escalations_due
from services.referral.domain.response import (
    ClassificationOverridden,
    RiskAssessed,
    SafeguardRecorded,
)
from services.referral.policy import Assessment, CaseFacts, Criterion, RequiredAction
from shared.entries import CaseEntry


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
        """Intake published a disclosure: referral's record of the case opens, to be assessed
        at once (with nothing known yet but how it was disclosed)."""

        school: str
        reference: str

    @event(Opened)
    def __init__(self, id: UUID, school: str, reference: str) -> None:
        self.school = school
        self.reference = reference
        self.assessments: list[Referral.AssessmentRecorded] = []
        self.actions: dict[str, Action] = {}
        # Step 5.
        self.overrides: list[ClassificationOverridden] = []
        self.risk_assessments: list[RiskAssessed] = []
        self.safeguards: list[SafeguardRecorded] = []
        # Step 6.
        self.decisions: list[ActionCompleted | ActionDeclined] = []
        self.police_outcomes: list[PoliceOutcomeRecorded] = []
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
                    action=action.action,
                    due_at=action.due_at,
                    policy_version=action.policy_version,
                    **vars(due),
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
