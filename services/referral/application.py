"""The referral application: reassesses each case whenever its facts change (intake's triage and
young people, the DSL's risk assessment), and records the DSL's decisions (steps 5 and 6)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import singledispatchmethod
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, ProcessingEvent

from services.referral.domain import Referral
from services.referral.policy import CURRENT, CaseFacts, assess
from shared.application import Clock, ServiceApplication
from shared.contracts.intake import (
    TRIAGE_QUESTION_FIELDS,
    IncidentReportedV1,
    TriageRecordedV1,
    YoungPersonRecordedV1,
)
from shared.contracts.streams import message_id
from shared.entries import CaseEntry

SYSTEM_ACTOR = "referral-service"


class ReferralNotFoundError(LookupError):
    """No referral record has that case id."""


def triage_facts(contract: TriageRecordedV1) -> dict[str, Any]:
    """A triage entry's answers, as the facts a policy reads."""
    answers: dict[str, Any] = {
        q: list(v) if isinstance(v, tuple) else v
        for q in TRIAGE_QUESTION_FIELDS
        for v in [getattr(contract, q)]
    }
    answers["image_location_kinds"] = sorted({loc.kind for loc in contract.image_locations})
    return answers


def young_person_facts(contract: YoungPersonRecordedV1) -> dict[str, Any]:
    return {
        "pseudonym": contract.pseudonym,
        "age": contract.age,
        "year_group": contract.year_group,
        "sex": contract.sex,
        "vulnerabilities": sorted(contract.vulnerabilities),
        "roles": sorted(contract.roles),
    }


class Referrals(ServiceApplication):
    """Applies intake's events: each change of facts gets an assessment entry."""

    name = "referral"

    def __init__(
        self,
        env: dict[str, str] | None = None,
        clock: Clock | None = None,
        policy_version: str = CURRENT,
    ) -> None:
        super().__init__(env, clock)
        self.policy_version = policy_version

    @singledispatchmethod
    def on_upstream(self, contract: Any, processing_event: ProcessingEvent[UUID]) -> None:
        """Contracts referral does not act on."""

    @on_upstream.register
    def _(self, contract: IncidentReportedV1, processing_event: ProcessingEvent[UUID]) -> None:
        referral = Referral(
            id=contract.case_id, school=contract.school, reference=contract.reference
        )
        facts = {"disclosure_route": str(contract.disclosure_route), "young_people": []}
        self._reassess(referral, facts, self._caused_by(processing_event))
        processing_event.collect_events(referral)

    @on_upstream.register
    def _(self, contract: TriageRecordedV1, processing_event: ProcessingEvent[UUID]) -> None:
        referral = self.get_referral(contract.case_id)
        facts = {**referral.facts.data, "triage": triage_facts(contract)}
        self._reassess(referral, facts, self._caused_by(processing_event))
        processing_event.collect_events(referral)

    @on_upstream.register
    def _(self, contract: YoungPersonRecordedV1, processing_event: ProcessingEvent[UUID]) -> None:
        referral = self.get_referral(contract.case_id)
        people = {p["pseudonym"]: p for p in referral.facts.young_people()}
        people[contract.pseudonym] = young_person_facts(contract)
        facts = {**referral.facts.data, "young_people": [people[k] for k in sorted(people)]}
        self._reassess(referral, facts, self._caused_by(processing_event))
        processing_event.collect_events(referral)

    @staticmethod
    def _caused_by(processing_event: ProcessingEvent[UUID]) -> str:
        assert processing_event.tracking is not None
        return message_id("intake", processing_event.tracking.notification_id)

    def _reassess(self, referral: Referral, facts: dict[str, Any], caused_by: str) -> None:
        """Record the next assessment, of ``facts``, caused by ``caused_by``."""
        case_facts = CaseFacts.of(facts)
        referral.record_assessment(
            case_facts,
            assess(case_facts, self.policy_version),
            caused_by,
            SYSTEM_ACTOR,
            self.clock(),
        )

    def decide(
        self,
        case_id: UUID,
        command: Callable[..., None],
        *,
        details: dict[str, Any],
        recorded_by: str,
        recorded_by_role: str,
        occurred_at: datetime | None = None,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
    ) -> tuple[CaseEntry, bool]:
        """Record a DSL's entry on a case by a :class:`Referral` command (completing or
        declining an action, overriding the classification, a safeguard, the police's
        outcome); a risk assessment also reassesses the case, in the same transaction."""
        then = self._reassess_with_risk if command is Referral.assess_risk else None
        return self.record_on(
            self.get_referral(case_id),
            command,
            details=details,
            recorded_by=recorded_by,
            recorded_by_role=recorded_by_role,
            occurred_at=occurred_at,
            idempotency_key=idempotency_key,
            expected_version=expected_version,
            then=then,
        )

    def _reassess_with_risk(self, referral: Referral) -> None:
        risk = referral.risk_assessments[-1]
        facts = {
            **referral.facts.data,
            "risk_assessment": {**risk.factors, "conclusion": risk.conclusion},
        }
        self._reassess(
            referral, facts, f"referral:risk_assessment:{len(referral.risk_assessments)}"
        )

    def get_referral(self, case_id: UUID) -> Referral:
        try:
            referral: Any = self.repository.get(case_id)
        except AggregateNotFoundError:
            raise ReferralNotFoundError(case_id) from None
        if not isinstance(referral, Referral):
            raise ReferralNotFoundError(case_id)
        return referral
