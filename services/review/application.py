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
        record = self._record_for(contract.case_id, contract.school, contract.reference)
        record.record_entry(
            kind="disclosure_recorded",
            summary=f"Disclosure ({contract.disclosure_route}): {contract.summary}",
            actor=contract.recorded_by,
            actor_role=contract.recorded_by_role,
            occurred_at=contract.occurred_at,
            recorded_at=contract.recorded_at,
            source=_source("intake", processing_event),
        )
        processing_event.collect_events(record)

    @on_upstream.register
    def _(self, contract: AssessmentRecordedV1, processing_event: ProcessingEvent[UUID]) -> None:
        record = self._record_for(contract.case_id, contract.school, contract.reference)
        missing = ", ".join(contract.missing_facts) or "none"
        record.record_entry(
            kind="assessment_recorded",
            summary=(
                f"Assessment {contract.assessment_number}: {contract.classification} "
                f"under policy {contract.policy_version}; facts still missing: {missing}"
            ),
            actor=contract.recorded_by,
            actor_role="system",
            occurred_at=contract.occurred_at,
            recorded_at=contract.recorded_at,
            source=_source("referral", processing_event),
        )
        processing_event.collect_events(record)

    @on_upstream.register
    def _(self, contract: TriageRecordedV1, processing_event: ProcessingEvent[UUID]) -> None:
        record = self._record_for(contract.case_id, contract.school, contract.reference)
        answered = sum(
            1
            for q in TriageRecordedV1.model_fields
            if getattr(contract, q) not in ("unknown", ("unknown",)) and q in TRIAGE_QUESTION_FIELDS
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
        record.record_entry(
            kind="triage_corrected" if corrected else "triage_recorded",
            summary=summary,
            actor=contract.recorded_by,
            actor_role=contract.recorded_by_role,
            occurred_at=contract.occurred_at,
            recorded_at=contract.recorded_at,
            source=_source("intake", processing_event),
        )
        processing_event.collect_events(record)

    @on_upstream.register
    def _(self, contract: YoungPersonRecordedV1, processing_event: ProcessingEvent[UUID]) -> None:
        record = self._record_for(contract.case_id, contract.school, contract.reference)
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
        record.record_entry(
            kind="young_person_corrected"
            if contract.correction_reason
            else "young_person_recorded",
            summary=summary,
            actor=contract.recorded_by,
            actor_role=contract.recorded_by_role,
            occurred_at=contract.occurred_at,
            recorded_at=contract.recorded_at,
            source=_source("intake", processing_event),
        )
        processing_event.collect_events(record)

    @on_upstream.register
    def _(self, contract: LeadershipInformedV1, processing_event: ProcessingEvent[UUID]) -> None:
        record = self._record_for(contract.case_id, contract.school, contract.reference)
        who = "DSL" if contract.audience == "dsl" else "senior management"
        record.record_entry(
            kind=f"{contract.audience}_informed",
            summary=(
                f"{who} told ({contract.person}, {contract.how.replace('_', ' ')}), "
                f"{contract.minutes_after_disclosure} min after the disclosure"
            ),
            actor=contract.recorded_by,
            actor_role=contract.recorded_by_role,
            occurred_at=contract.occurred_at,
            recorded_at=contract.recorded_at,
            source=_source("intake", processing_event),
        )
        processing_event.collect_events(record)

    @on_upstream.register
    def _(self, contract: DslAssignedV1, processing_event: ProcessingEvent[UUID]) -> None:
        record = self._record_for(contract.case_id, contract.school, contract.reference)
        summary = f"{contract.dsl} takes the case"
        if contract.handover_reason:
            summary += f" (handed over: {contract.handover_reason})"
        record.record_entry(
            kind="dsl_assigned",
            summary=summary,
            actor=contract.recorded_by,
            actor_role=contract.recorded_by_role,
            occurred_at=contract.occurred_at,
            recorded_at=contract.recorded_at,
            source=_source("intake", processing_event),
        )
        processing_event.collect_events(record)

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
        self._entry(
            contract,
            processing_event,
            "device_searched_emergency" if contract.emergency else "device_searched",
            summary,
            actor=contract.recorded_by,
            actor_role=contract.recorded_by_role,
        )

    @on_upstream.register
    def _(self, contract: DeviceSearchDeclinedV1, processing_event: ProcessingEvent[UUID]) -> None:
        self._entry(
            contract,
            processing_event,
            "device_search_declined",
            f"Not searched ({contract.pseudonym}): {contract.reason}",
            actor=contract.recorded_by,
            actor_role=contract.recorded_by_role,
        )

    def _entry(
        self,
        contract: DeviceSearchAuthorisedV1 | DeviceSearchedV1 | DeviceSearchDeclinedV1,
        processing_event: ProcessingEvent[UUID],
        kind: str,
        summary: str,
        *,
        actor: str,
        actor_role: str,
    ) -> None:
        record = self._record_for(contract.case_id, contract.school, contract.reference)
        record.record_entry(
            kind=kind,
            summary=summary,
            actor=actor,
            actor_role=actor_role,
            occurred_at=contract.occurred_at,
            recorded_at=contract.recorded_at,
            source=_source("intake", processing_event),
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


def _source(upstream: str, processing_event: ProcessingEvent[UUID]) -> str:
    assert processing_event.tracking is not None
    return message_id(upstream, processing_event.tracking.notification_id)
