"""Stored events name their class by topic. The classes moved into the modules of the policy's
steps (issue 13); every event stored before under its old topic still loads as its class, and
is still found by the relay and the reference index, which select by topic."""

from __future__ import annotations

from eventsourcing.utils import get_topic, resolve_topic

from services.intake.domain import ENTRY_KINDS, Incident, ReferenceSequence
from services.intake.entrypoint import SPEC
from shared.topics import topics_of

BEFORE = [
    "Incident",
    "Incident.Reported",
    "Incident.AgencyReferralNoted",
    "Incident.TriageRecorded",
    "Incident.YoungPersonRecorded",
    "Incident.LeadershipInformed",
    "Incident.DslAssigned",
    "Incident.SearchAuthorised",
    "Incident.DeviceSearched",
    "Incident.SearchDeclined",
    "Incident.DeviceCustodyRecorded",
    "Incident.ImageNotViewedAttested",
    "Incident.ImageViewingAgreed",
    "Incident.ImageViewed",
    "Incident.ImageContained",
    "Incident.ImageReportedToSite",
    "Incident.DeletionRequested",
    "Incident.DeletionConfirmed",
    "ReferenceSequence",
    "ReferenceSequence.Started",
    "ReferenceSequence.Allocated",
]


def test_every_topic_stored_before_the_move_resolves_to_its_class() -> None:
    for name in BEFORE:
        resolved = resolve_topic(f"services.intake.domain:{name}")
        assert resolved.__name__ == name.rsplit(".", 1)[-1], name
    assert resolve_topic("services.intake.domain:Incident") is Incident
    assert resolve_topic("services.intake.domain:ReferenceSequence") is ReferenceSequence
    assert {get_topic(kind).split(":")[0] for kind in ENTRY_KINDS} == {
        "services.intake.domain.disclosure",
        "services.intake.domain.device_search",
        "services.intake.domain.image",
        "services.intake.domain.who_deals",
    }


def test_the_relay_and_the_reference_index_select_the_old_topics_too() -> None:
    published = topics_of(*SPEC.published)
    for kind in ENTRY_KINDS:
        assert f"services.intake.domain:Incident.{kind.__name__}" in published
    assert "services.intake.domain:Incident.Reported" in topics_of(Incident.Reported)
