"""Intake's stored events, as the contracts other services read."""

from __future__ import annotations

from services.intake.domain import (
    ENTRY_KINDS,
    DeletionConfirmed,
    DeletionRequested,
    DeviceCustodyRecorded,
    DeviceSearched,
    DslAssigned,
    ImageContained,
    ImageNotViewedAttested,
    ImageReportedToSite,
    ImageViewed,
    ImageViewingAgreed,
    Incident,
    LeadershipInformed,
    SearchAuthorised,
    SearchDeclined,
    TriageRecorded,
    YoungPersonRecorded,
    asked_as_one,
)
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
    IntakeEntryRecordedV1,
    LeadershipInformedV1,
    TriageRecordedV1,
    TriageRecordedV2,
    YoungPersonRecordedV1,
)
from shared.publishing import Publishes, contract_mapper

_PUBLISHES: dict[type, Publishes] = {
    Incident.Reported: Publishes(IncidentReportedV1),
    YoungPersonRecorded: Publishes(YoungPersonRecordedV1, {"reason": "correction_reason"}),
    TriageRecorded: Publishes(
        TriageRecordedV2,
        {"number": "entry_number", "reason": "correction_reason"},
        spread="answers",
    ),
    LeadershipInformed: Publishes(LeadershipInformedV1, {"reason": "correction_reason"}),
    DslAssigned: Publishes(DslAssignedV1, {"reason": "handover_reason"}),
    SearchAuthorised: Publishes(DeviceSearchAuthorisedV1),
    DeviceSearched: Publishes(DeviceSearchedV1),
    SearchDeclined: Publishes(DeviceSearchDeclinedV1),
    # Step 3: the entries' fields are the contracts' own (idempotency_key stays private).
    DeviceCustodyRecorded: Publishes(DeviceCustodyRecordedV1),
    ImageNotViewedAttested: Publishes(ImageNotViewedAttestedV1),
    ImageViewingAgreed: Publishes(ImageViewingAgreedV1),
    ImageViewed: Publishes(ImageViewedV1),
    ImageContained: Publishes(ImageContainedV1),
    ImageReportedToSite: Publishes(ImageReportedToSiteV1),
    DeletionRequested: Publishes(DeletionRequestedV1),
    DeletionConfirmed: Publishes(DeletionConfirmedV1),
}

PUBLISHED = (*_PUBLISHES, *(kind for kind in ENTRY_KINDS if kind not in _PUBLISHES))
"""The stored events other services see: each in the table as its contract, and every other
kind of entry by its declaration (:class:`IntakeEntryRecordedV1`); every other event is private
to intake."""

TRIAGE_ASKED_AS_ONE: dict[type, Publishes] = {
    TriageRecorded: Publishes(
        TriageRecordedV1,
        {"number": "entry_number", "reason": "correction_reason"},
        spread="answers",
    )
}
"""A triage entry recorded before the acts in the imagery were asked apart is published, as it
always was, as V1: its one answer fits no field of V2, and no answer is made up for it."""

_mapped = contract_mapper(_PUBLISHES, declared=IntakeEntryRecordedV1)
_mapped_asked_as_one = contract_mapper(TRIAGE_ASKED_AS_ONE)


def to_contract(domain_event: object) -> Contract | None:
    """The contract a stored event is published as; None for events private to intake."""
    if isinstance(domain_event, TriageRecorded) and asked_as_one(domain_event.answers):
        return _mapped_asked_as_one(domain_event)
    return _mapped(domain_event)
