"""The referral application: assesses each case when intake's facts change."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import singledispatchmethod
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, ProcessingEvent

from services.referral.domain import Referral
from services.referral.policy import DECIDING_FACTS, CaseFacts, assess
from shared.application import ServiceApplication
from shared.contracts.intake import IncidentReportedV1, TriageRecordedV1
from shared.contracts.streams import message_id

SYSTEM_ACTOR = "referral-service"
DEFAULT_POLICY_VERSION = "uk-2024.1"


class ReferralNotFoundError(LookupError):
    """No referral record has that case id."""


class Referrals(ServiceApplication):
    """Applies intake's events: each change of facts gets an assessment entry."""

    name = "referral"

    def __init__(
        self,
        env: dict[str, str] | None = None,
        clock: Callable[[], datetime] | None = None,
        policy_version: str = DEFAULT_POLICY_VERSION,
    ) -> None:
        super().__init__(env)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.policy_version = policy_version

    @singledispatchmethod
    def on_upstream(self, contract: Any, processing_event: ProcessingEvent[UUID]) -> None:
        """Contracts referral does not act on."""

    @on_upstream.register
    def _(self, contract: IncidentReportedV1, processing_event: ProcessingEvent[UUID]) -> None:
        referral = Referral(
            id=contract.case_id, school=contract.school, reference=contract.reference
        )
        self._assess(referral, CaseFacts(), processing_event)

    @on_upstream.register
    def _(self, contract: TriageRecordedV1, processing_event: ProcessingEvent[UUID]) -> None:
        known = tuple(
            (fact, str(getattr(contract, fact)))
            for fact in DECIDING_FACTS
            if fact in TriageRecordedV1.model_fields
        )
        referral = self.get_referral(contract.case_id)
        self._assess(referral, CaseFacts(known=known), processing_event)

    def _assess(
        self, referral: Referral, facts: CaseFacts, processing_event: ProcessingEvent[UUID]
    ) -> None:
        """Record the next assessment, caused by the upstream event being processed."""
        result = assess(facts, self.policy_version)
        assert processing_event.tracking is not None
        now = self.clock()
        referral.record_assessment(
            school=referral.school,
            reference=referral.reference,
            number=len(referral.assessments) + 1,
            classification=result.classification,
            missing_facts=result.missing_facts,
            policy_version=result.policy_version,
            caused_by=message_id("intake", processing_event.tracking.notification_id),
            recorded_by=SYSTEM_ACTOR,
            occurred_at=now,
            recorded_at=now,
        )
        processing_event.collect_events(referral)

    def get_referral(self, case_id: UUID) -> Referral:
        try:
            referral: Any = self.repository.get(case_id)
        except AggregateNotFoundError:
            raise ReferralNotFoundError(case_id) from None
        if not isinstance(referral, Referral):
            raise ReferralNotFoundError(case_id)
        return referral
