"""The review application: every case's chronology, built from upstream streams."""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, ProcessingEvent

from services.review.domain import CaseRecord
from shared.application import ServiceApplication
from shared.contracts.intake import (
    TRIAGE_QUESTION_FIELDS,
    DeviceSearchAuthorisedV1,
    DeviceSearchDeclinedV1,
    DeviceSearchedV1,
    DslAssignedV1,
    IncidentReportedV1,
    LeadershipInformedV1,
    TriageRecordedV1,
    YoungPersonRecordedV1,
)
from shared.contracts.referral import AssessmentRecordedV1
from shared.contracts.streams import message_id


class CaseNotFoundError(LookupError):
    """No case record has that id."""


class Reviews(ServiceApplication):
    """Builds each case's record from what intake and referral publish."""

    name = "review"

    @singledispatchmethod
    def on_upstream(self, contract: Any, processing_event: ProcessingEvent[UUID]) -> None:
        """Contracts review does not show."""

    @on_upstream.register
    def _(self, contract: IncidentReportedV1, processing_event: ProcessingEvent[UUID]) -> None:
        self._entry(
            contract,
            processing_event,
            "disclosure_recorded",
            f"Disclosure ({contract.disclosure_route}): {contract.summary}",
        )

    @on_upstream.register
    def _(self, contract: AssessmentRecordedV1, processing_event: ProcessingEvent[UUID]) -> None:
        missing = ", ".join(contract.missing_facts) or "none"
        self._entry(
            contract,
            processing_event,
            "assessment_recorded",
            f"Assessment {contract.assessment_number}: {contract.classification} "
            f"under policy {contract.policy_version}; facts still missing: {missing}",
            actor_role="system",
        )

    @on_upstream.register
    def _(self, contract: TriageRecordedV1, processing_event: ProcessingEvent[UUID]) -> None:
        answered = sum(
            1
            for q in TRIAGE_QUESTION_FIELDS
            if getattr(contract, q) not in ("unknown", ("unknown",))
        )
        corrected = contract.entry_number > 1
        summary = (
            f"Triage {contract.entry_number}: {answered} of {len(TRIAGE_QUESTION_FIELDS)} "
            f"answered; adult involvement {contract.adult_involvement}"
        )
        if corrected:
            summary += (
                f"; corrects triage {contract.entry_number - 1}: {contract.correction_reason}"
            )
        kind = "triage_corrected" if corrected else "triage_recorded"
        self._entry(contract, processing_event, kind, summary)

    @on_upstream.register
    def _(self, contract: YoungPersonRecordedV1, processing_event: ProcessingEvent[UUID]) -> None:
        school_year = f"Year {contract.year_group}" if contract.year_group is not None else ""
        age = f"age {contract.age}" if contract.age is not None else ""
        summary = (
            f"{contract.pseudonym} ({', '.join(filter(None, (school_year, age, contract.sex)))}):"
            f" {', '.join(contract.roles)}"
        )
        if contract.vulnerabilities:
            summary += f"; vulnerabilities: {', '.join(contract.vulnerabilities)}"
        if contract.correction_reason:
            summary += f"; corrected: {contract.correction_reason}"
        corrected = bool(contract.correction_reason)
        kind = "young_person_corrected" if corrected else "young_person_recorded"
        self._entry(contract, processing_event, kind, summary)

    @on_upstream.register
    def _(self, contract: LeadershipInformedV1, processing_event: ProcessingEvent[UUID]) -> None:
        who = "DSL" if contract.audience == "dsl" else "senior management"
        self._entry(
            contract,
            processing_event,
            f"{contract.audience}_informed",
            f"{who} told ({contract.person}, {contract.how.replace('_', ' ')}), "
            f"{contract.minutes_after_disclosure} min after the disclosure",
        )

    @on_upstream.register
    def _(self, contract: DslAssignedV1, processing_event: ProcessingEvent[UUID]) -> None:
        summary = f"{contract.dsl} takes the case"
        if contract.handover_reason:
            summary += f" (handed over: {contract.handover_reason})"
        self._entry(contract, processing_event, "dsl_assigned", summary)

    @on_upstream.register
    def _(
        self, contract: DeviceSearchAuthorisedV1, processing_event: ProcessingEvent[UUID]
    ) -> None:
        self._entry(
            contract,
            processing_event,
            "device_search_authorised",
            f"{contract.authorised_by} authorised {contract.searcher} to search the device of "
            f"{contract.pseudonym}",
            actor=contract.authorised_by,
            actor_role="head",
        )

    @on_upstream.register
    def _(self, contract: DeviceSearchedV1, processing_event: ProcessingEvent[UUID]) -> None:
        summary = (
            f"{contract.searcher} searched {contract.device} ({contract.pseudonym}), "
            f"{contract.safeguarding_team_member} present: {contract.outcome.replace('_', ' ')}"
        )
        if contract.emergency:
            summary += (
                f"; EMERGENCY EXCEPTION, for review: {contract.emergency_justification}; "
                f"not met: {'; '.join(contract.conditions_not_met) or 'none'}"
            )
        kind = "device_searched_emergency" if contract.emergency else "device_searched"
        self._entry(contract, processing_event, kind, summary)

    @on_upstream.register
    def _(self, contract: DeviceSearchDeclinedV1, processing_event: ProcessingEvent[UUID]) -> None:
        self._entry(
            contract,
            processing_event,
            "device_search_declined",
            f"Not searched ({contract.pseudonym}): {contract.reason}",
        )

    def _entry(
        self,
        contract: Any,
        processing_event: ProcessingEvent[UUID],
        kind: str,
        summary: str,
        *,
        actor: str | None = None,
        actor_role: str | None = None,
    ) -> None:
        """One chronology entry from an upstream contract: by default its recorder is the actor,
        and its producer and position are the source."""
        record = self._record_for(contract.case_id, contract.school, contract.reference)
        assert processing_event.tracking is not None
        record.record_entry(
            kind=kind,
            summary=summary,
            actor=actor or contract.recorded_by,
            actor_role=actor_role or contract.recorded_by_role,
            occurred_at=contract.occurred_at,
            recorded_at=contract.recorded_at,
            source=message_id(contract.producer, processing_event.tracking.notification_id),
        )
        processing_event.collect_events(record)

    def _record_for(self, case_id: UUID, school: str, reference: str) -> CaseRecord:
        try:
            record: object = self.repository.get(case_id)
        except AggregateNotFoundError:
            return CaseRecord(id=case_id, school=school, reference=reference)
        assert isinstance(record, CaseRecord)
        return record

    def get_case(self, case_id: UUID) -> CaseRecord:
        try:
            record: object = self.repository.get(case_id)
        except AggregateNotFoundError:
            raise CaseNotFoundError(case_id) from None
        if not isinstance(record, CaseRecord):
            raise CaseNotFoundError(case_id)
        return record
