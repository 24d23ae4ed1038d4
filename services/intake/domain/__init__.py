"""Intake's domain, by the policy's steps: :mod:`.disclosure` (step 1: the young people and the
triage), :mod:`.device_search` (step 2), :mod:`.image` (step 3), :mod:`.who_deals` (step 4);
:mod:`.incident` holds the case they are recorded on.

Until issue 13 the incident and every kind of entry were classes of this module, and events
stored then name them by topic (``services.intake.domain:Incident.DeviceSearched``): each old
topic is registered to the class that now holds it, so those events load as they were.
"""

from __future__ import annotations

from services.intake.domain.device_search import (
    STEP_2,
    DeviceSearched,
    SearchAuthorised,
    SearchConditionError,
    SearchDeclined,
)
from services.intake.domain.disclosure import (
    DISCLOSURE_ROUTES,
    STEP_1,
    TriageRecorded,
    YoungPersonRecorded,
)
from services.intake.domain.errors import (
    AgencyInvolvedError,
    CustodyError,
    IntakeError,
    NeedsReasonError,
    ViewingRefusedError,
)
from services.intake.domain.image import (
    STEP_3,
    DeletionConfirmed,
    DeletionRequested,
    DeviceCustodyRecorded,
    ImageContained,
    ImageNotViewedAttested,
    ImageReportedToSite,
    ImageViewed,
    ImageViewingAgreed,
)
from services.intake.domain.incident import Incident, ReferenceSequence
from services.intake.domain.triage import (
    ASKED_AS_ONE,
    MULTI_ANSWER,
    TRIAGE_ANSWERS,
    asked_as_one,
)
from services.intake.domain.who_deals import STEP_4, DslAssigned, LeadershipInformed
from shared.entries import CaseEntry, Recording
from shared.topics import moved

__all__ = [
    "ASKED_AS_ONE",
    "DISCLOSURE_ROUTES",
    "ENTRY_KINDS",
    "MULTI_ANSWER",
    "TRIAGE_ANSWERS",
    "AgencyInvolvedError",
    "CaseEntry",
    "CustodyError",
    "DeletionConfirmed",
    "DeletionRequested",
    "DeviceCustodyRecorded",
    "DeviceSearched",
    "DslAssigned",
    "ImageContained",
    "ImageNotViewedAttested",
    "ImageReportedToSite",
    "ImageViewed",
    "ImageViewingAgreed",
    "Incident",
    "IntakeError",
    "LeadershipInformed",
    "NeedsReasonError",
    "Recording",
    "ReferenceSequence",
    "SearchAuthorised",
    "SearchConditionError",
    "SearchDeclined",
    "TriageRecorded",
    "ViewingRefusedError",
    "YoungPersonRecorded",
    "asked_as_one",
]

ENTRY_KINDS: tuple[type[CaseEntry], ...] = (*STEP_1, *STEP_2, *STEP_3, *STEP_4)
"""Every kind of entry intake records, in the policy's order."""

_BEFORE_ISSUE_13 = "services.intake.domain:"
for _moved in (Incident, Incident.Reported, Incident.AgencyReferralNoted, ReferenceSequence):
    moved(_BEFORE_ISSUE_13 + _moved.__qualname__, _moved)
for _sequence_event in ("Started", "Allocated"):
    moved(
        f"{_BEFORE_ISSUE_13}ReferenceSequence.{_sequence_event}",
        getattr(ReferenceSequence, _sequence_event),
    )
for _kind in ENTRY_KINDS:
    moved(f"{_BEFORE_ISSUE_13}Incident.{_kind.__name__}", _kind)
