"""Intake's stored events, as the contracts other services read."""

from __future__ import annotations

from services.intake.domain import Incident
from shared.contracts import Contract
from shared.contracts.intake import (
    DeviceSearchAuthorisedV1,
    DeviceSearchDeclinedV1,
    DeviceSearchedV1,
    DisclosureRoute,
    DslAssignedV1,
    IncidentReportedV1,
    LeadershipInformedV1,
    TriageRecordedV1,
    YoungPersonRecordedV1,
)

PUBLISHED = (
    Incident.Reported,
    Incident.YoungPersonRecorded,
    Incident.TriageRecorded,
    Incident.LeadershipInformed,
    Incident.DslAssigned,
    Incident.SearchAuthorised,
    Incident.DeviceSearched,
    Incident.SearchDeclined,
)
"""The stored events other services see; every other event is private to intake."""


def to_contract(domain_event: object) -> Contract | None:
    """The contract a stored event is published as; None for events private to intake."""
    if isinstance(domain_event, Incident.Reported):
        return IncidentReportedV1(
            case_id=domain_event.originator_id,
            school=domain_event.school,
            reference=domain_event.reference,
            disclosure_route=DisclosureRoute(domain_event.disclosure_route),
            summary=domain_event.summary,
            recorded_by=domain_event.recorded_by,
            recorded_by_role=domain_event.recorded_by_role,
            occurred_at=domain_event.occurred_at,
            recorded_at=domain_event.recorded_at,
        )
    if isinstance(domain_event, Incident.YoungPersonRecorded):
        return YoungPersonRecordedV1(
            case_id=domain_event.originator_id,
            school=domain_event.school,
            reference=domain_event.reference,
            pseudonym=domain_event.pseudonym,
            year_group=domain_event.year_group,
            age=domain_event.age,
            sex=domain_event.sex,
            vulnerabilities=tuple(domain_event.vulnerabilities),
            roles=tuple(domain_event.roles),
            correction_reason=domain_event.reason,
            recorded_by=domain_event.recorded_by,
            recorded_by_role=domain_event.recorded_by_role,
            occurred_at=domain_event.occurred_at,
            recorded_at=domain_event.recorded_at,
        )
    if isinstance(domain_event, Incident.LeadershipInformed):
        return LeadershipInformedV1(
            case_id=domain_event.originator_id,
            school=domain_event.school,
            reference=domain_event.reference,
            audience=domain_event.audience,
            person=domain_event.person,
            how=domain_event.how,
            minutes_after_disclosure=domain_event.minutes_after_disclosure,
            correction_reason=domain_event.reason,
            recorded_by=domain_event.recorded_by,
            recorded_by_role=domain_event.recorded_by_role,
            occurred_at=domain_event.occurred_at,
            recorded_at=domain_event.recorded_at,
        )
    if isinstance(domain_event, Incident.DslAssigned):
        return DslAssignedV1(
            case_id=domain_event.originator_id,
            school=domain_event.school,
            reference=domain_event.reference,
            dsl=domain_event.dsl,
            handover_reason=domain_event.reason,
            recorded_by=domain_event.recorded_by,
            recorded_by_role=domain_event.recorded_by_role,
            occurred_at=domain_event.occurred_at,
            recorded_at=domain_event.recorded_at,
        )
    if isinstance(domain_event, Incident.SearchAuthorised):
        return DeviceSearchAuthorisedV1(
            case_id=domain_event.originator_id,
            school=domain_event.school,
            reference=domain_event.reference,
            searcher=domain_event.searcher,
            pseudonym=domain_event.pseudonym,
            authorised_by=domain_event.authorised_by,
            occurred_at=domain_event.occurred_at,
            recorded_at=domain_event.recorded_at,
        )
    if isinstance(domain_event, Incident.DeviceSearched):
        return DeviceSearchedV1(
            case_id=domain_event.originator_id,
            school=domain_event.school,
            reference=domain_event.reference,
            pseudonym=domain_event.pseudonym,
            device=domain_event.device,
            searcher=domain_event.searcher,
            safeguarding_team_member=domain_event.safeguarding_team_member,
            outcome=domain_event.outcome,
            emergency=domain_event.emergency,
            emergency_justification=domain_event.emergency_justification,
            conditions_not_met=tuple(domain_event.conditions_not_met),
            recorded_by=domain_event.recorded_by,
            recorded_by_role=domain_event.recorded_by_role,
            occurred_at=domain_event.occurred_at,
            recorded_at=domain_event.recorded_at,
        )
    if isinstance(domain_event, Incident.SearchDeclined):
        return DeviceSearchDeclinedV1(
            case_id=domain_event.originator_id,
            school=domain_event.school,
            reference=domain_event.reference,
            pseudonym=domain_event.pseudonym,
            reason=domain_event.reason,
            recorded_by=domain_event.recorded_by,
            recorded_by_role=domain_event.recorded_by_role,
            occurred_at=domain_event.occurred_at,
            recorded_at=domain_event.recorded_at,
        )
    if isinstance(domain_event, Incident.TriageRecorded):
        return TriageRecordedV1.model_validate(
            {
                **domain_event.answers,
                "case_id": domain_event.originator_id,
                "school": domain_event.school,
                "reference": domain_event.reference,
                "entry_number": domain_event.number,
                "image_locations": domain_event.image_locations,
                "correction_reason": domain_event.reason,
                "recorded_by": domain_event.recorded_by,
                "recorded_by_role": domain_event.recorded_by_role,
                "occurred_at": domain_event.occurred_at,
                "recorded_at": domain_event.recorded_at,
            }
        )
    return None
