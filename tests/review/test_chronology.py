"""Review's case record, on the in-memory store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from eventsourcing.persistence import Tracking

from services.review.application import Reviews
from shared.contracts.referral import AssessmentRecordedV1
from tests.helpers import incident_reported

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def test_entries_are_in_the_order_things_happened_whatever_order_they_arrive() -> None:
    app = Reviews()
    case_id = uuid4()
    assessment = AssessmentRecordedV1(
        case_id=case_id,
        school="OAK",
        reference="OAK-2026-0001",
        assessment_number=1,
        classification="undetermined",
        policy_version="uk-2024.1",
        caused_by="intake:3",
        recorded_by="referral-service",
        occurred_at=T0 + timedelta(seconds=1),
        recorded_at=T0 + timedelta(seconds=1),
    )
    disclosure = incident_reported(
        case_id=case_id, occurred_at=T0 - timedelta(hours=1), recorded_at=T0
    )
    # The referral stream can be consumed before the intake stream catches up.
    app.process_event(assessment, Tracking("referral", 1))
    app.process_event(disclosure, Tracking("intake", 3))
    entries = app.get_case(case_id).chronology()
    assert [e.kind for e in entries] == ["disclosure_recorded", "assessment_recorded"]
    assert [(e.actor, e.source) for e in entries] == [
        ("staff.a", "intake:3"),
        ("referral-service", "referral:1"),
    ]
    assert entries[0].occurred_at == T0 - timedelta(hours=1)
    assert entries[0].recorded_at == T0
