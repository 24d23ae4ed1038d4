"""The review application: every case's chronology, built from upstream streams."""

from __future__ import annotations

from datetime import UTC
from functools import singledispatchmethod
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, ProcessingEvent

from services.review.domain import CaseRecord
from shared.application import ServiceApplication
from shared.contracts.intake import (
    TRIAGE_QUESTION_FIELDS,
    DeletionConfirmedV1,
    DeletionRequestedV1,
    DeviceCustodyRecordedV1,
    DeviceSearchAuthorisedV1,
    DeviceSearchDeclinedV1,
    DeviceSearchedV1,
    DslAssignedV1,
    ImageContainedV1,
    ImageNotViewedAttestedV1,
    ImageReportedToSiteV1,
    ImageViewedV1,
    ImageViewingAgreedV1,
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

    @on_upstream.register
    def _(self, contract: DeviceCustodyRecordedV1, processing_event: ProcessingEvent[UUID]) -> None:
        device = _whose(contract.device, contract.pseudonym)
        seal = f"seal {contract.seal_number}"
        if contract.action == "confiscated":
            off = "switched off" if contract.switched_off else "NOT switched off"
            summary = f"{device} confiscated, {off}, {seal}: held by {contract.held_by}"
        elif contract.action == "transferred":
            summary = f"{device} transferred, {seal}: held by {contract.held_by}"
        else:
            summary = (
                f"{device} handed to the police ({contract.held_by}), officer reference "
                f"{contract.officer_reference}, {seal}"
            )
        if contract.location:
            summary += f", {contract.location}"
        if contract.note:
            summary += f"; note: {contract.note}"
        self._entry(contract, processing_event, f"device_{contract.action}", summary)

    @on_upstream.register
    def _(
        self, contract: ImageNotViewedAttestedV1, processing_event: ProcessingEvent[UUID]
    ) -> None:
        self._entry(
            contract,
            processing_event,
            "image_not_viewed_attested",
            f"{contract.recorded_by} attests they did not view the image: {contract.context}",
        )

    @on_upstream.register
    def _(self, contract: ImageViewingAgreedV1, processing_event: ProcessingEvent[UUID]) -> None:
        self._entry(
            contract,
            processing_event,
            "image_viewing_agreed",
            f"{contract.recorded_by} agreed that {contract.dsl} may view the image of "
            f"{contract.pseudonym}: {contract.reason}",
        )

    @on_upstream.register
    def _(self, contract: ImageViewedV1, processing_event: ProcessingEvent[UUID]) -> None:
        # What was seen stays in intake's record: the chronology says who, why and what was
        # done, and does not copy a description of the image into a second store.
        where = "on school premises" if contract.on_school_premises else "OFF school premises"
        summary = (
            f"{contract.recorded_by} viewed the image of {contract.pseudonym}, agreed by "
            f"{contract.agreed_by}, {contract.senior_present} present, {where}: "
            f"{contract.reason}; done: {contract.what_was_done}"
        )
        if contract.same_sex_not_possible_reason:
            summary += f"; not the same sex: {contract.same_sex_not_possible_reason}"
        self._entry(contract, processing_event, "image_viewed", summary)

    @on_upstream.register
    def _(self, contract: ImageContainedV1, processing_event: ProcessingEvent[UUID]) -> None:
        what = (
            "School network blocked to all users"
            if contract.action == "network_blocked"
            else "Image isolated"
        )
        self._entry(
            contract,
            processing_event,
            contract.action,
            f"{what} by {contract.done_by}: {contract.where}",
        )

    @on_upstream.register
    def _(self, contract: ImageReportedToSiteV1, processing_event: ProcessingEvent[UUID]) -> None:
        self._entry(
            contract,
            processing_event,
            "image_reported_to_site",
            f"Reported to {contract.site}, the site's reference {contract.report_reference}",
        )

    @on_upstream.register
    def _(self, contract: DeletionRequestedV1, processing_event: ProcessingEvent[UUID]) -> None:
        places = ", ".join(p.replace("_", " ") for p in contract.places)
        self._entry(
            contract,
            processing_event,
            "deletion_requested",
            f"{contract.pseudonym} asked to delete every copy ({places}) by "
            f"{contract.deadline.astimezone(UTC):%Y-%m-%d %H:%M} UTC",
        )

    @on_upstream.register
    def _(self, contract: DeletionConfirmedV1, processing_event: ProcessingEvent[UUID]) -> None:
        summary = f"{contract.pseudonym} confirmed deleting every copy: {contract.how}"
        if contract.agencies_involved:
            summary = (
                f"FOR REVIEW: {summary}, after another agency became involved "
                f"({', '.join(c.replace('_', ' ') for c in contract.agencies_involved)}): "
                "tell that agency"
            )
        self._entry(contract, processing_event, "deletion_confirmed", summary)

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


def _whose(device: str, pseudonym: str) -> str:
    """A device in words, with the young person it belongs to if it is one's."""
    return f"{device} ({pseudonym})" if pseudonym else device
