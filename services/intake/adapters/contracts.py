"""Intake's stored events, as the contracts other services read."""

from __future__ import annotations

from services.intake.domain import Incident, asked_as_one
from shared.contracts import Contract
from shared.contracts.intake import (
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
    TriageRecordedV2,
    YoungPersonRecordedV1,
)
from shared.relay import Publishes, contract_mapper

_PUBLISHES: dict[type, Publishes] = {
    Incident.Reported: Publishes(IncidentReportedV1),
    Incident.YoungPersonRecorded: Publishes(YoungPersonRecordedV1, {"reason": "correction_reason"}),
    Incident.TriageRecorded: Publishes(
        TriageRecordedV2,
        {"number": "entry_number", "reason": "correction_reason"},
        spread="answers",
    ),
    Incident.LeadershipInformed: Publishes(LeadershipInformedV1, {"reason": "correction_reason"}),
    Incident.DslAssigned: Publishes(DslAssignedV1, {"reason": "handover_reason"}),
    Incident.SearchAuthorised: Publishes(DeviceSearchAuthorisedV1),
    Incident.DeviceSearched: Publishes(DeviceSearchedV1),
    Incident.SearchDeclined: Publishes(DeviceSearchDeclinedV1),
    # Step 3: the entries' fields are the contracts' own (idempotency_key stays private).
    Incident.DeviceCustodyRecorded: Publishes(DeviceCustodyRecordedV1),
    Incident.ImageNotViewedAttested: Publishes(ImageNotViewedAttestedV1),
    Incident.ImageViewingAgreed: Publishes(ImageViewingAgreedV1),
    Incident.ImageViewed: Publishes(ImageViewedV1),
    Incident.ImageContained: Publishes(ImageContainedV1),
    Incident.ImageReportedToSite: Publishes(ImageReportedToSiteV1),
    Incident.DeletionRequested: Publishes(DeletionRequestedV1),
    Incident.DeletionConfirmed: Publishes(DeletionConfirmedV1),
}

PUBLISHED = tuple(_PUBLISHES)
"""The stored events other services see; every other event is private to intake."""

TRIAGE_ASKED_AS_ONE: dict[type, Publishes] = {
    Incident.TriageRecorded: Publishes(
        TriageRecordedV1,
        {"number": "entry_number", "reason": "correction_reason"},
        spread="answers",
    )
}
"""A triage entry recorded before the acts in the imagery were asked apart is published, as it
always was, as V1: its one answer fits no field of V2, and no answer is made up for it."""

_mapped = contract_mapper(_PUBLISHES)
_mapped_asked_as_one = contract_mapper(TRIAGE_ASKED_AS_ONE)


def to_contract(domain_event: object) -> Contract | None:
    """The contract a stored event is published as; None for events private to intake."""
    if isinstance(domain_event, Incident.TriageRecorded) and asked_as_one(domain_event.answers):
        return _mapped_asked_as_one(domain_event)
    return _mapped(domain_event)
