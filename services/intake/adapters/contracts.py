"""Intake's stored events, as the contracts other services read."""

from __future__ import annotations

from services.intake.domain import Incident
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
    YoungPersonRecordedV1,
)
from shared.relay import Publishes, contract_mapper

_PUBLISHES: dict[type, Publishes] = {
    Incident.Reported: Publishes(IncidentReportedV1),
    Incident.YoungPersonRecorded: Publishes(YoungPersonRecordedV1, {"reason": "correction_reason"}),
    Incident.TriageRecorded: Publishes(
        TriageRecordedV1,
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

to_contract = contract_mapper(_PUBLISHES)
"""The contract a stored event is published as; None for events private to intake."""
