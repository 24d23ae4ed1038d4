"""Stored events name their class by topic: moving a class would orphan every stored event."""

from __future__ import annotations

from eventsourcing.utils import get_topic

from services.intake.domain import Incident, ReferenceSequence


def test_stored_event_topics_do_not_move() -> None:
    assert [
        get_topic(Incident.Reported),
        get_topic(Incident.TriageRecorded),
        get_topic(Incident.YoungPersonRecorded),
        get_topic(Incident.LeadershipInformed),
        get_topic(Incident.DslAssigned),
        get_topic(Incident.SearchAuthorised),
        get_topic(Incident.DeviceSearched),
        get_topic(Incident.SearchDeclined),
        get_topic(ReferenceSequence),
    ] == [
        "services.intake.domain:Incident.Reported",
        "services.intake.domain:Incident.TriageRecorded",
        "services.intake.domain:Incident.YoungPersonRecorded",
        "services.intake.domain:Incident.LeadershipInformed",
        "services.intake.domain:Incident.DslAssigned",
        "services.intake.domain:Incident.SearchAuthorised",
        "services.intake.domain:Incident.DeviceSearched",
        "services.intake.domain:Incident.SearchDeclined",
        "services.intake.domain:ReferenceSequence",
    ]
