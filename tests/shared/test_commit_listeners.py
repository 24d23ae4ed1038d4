"""The outbox relay is woken after each commit: a save over HTTP, and an upstream message applied
with its tracking record. Done through the library's public save and process_event."""

from __future__ import annotations

from datetime import UTC, datetime

from eventsourcing.persistence import Tracking

from services.intake.application import Intake
from shared.application import DeadLetterNotice


def test_listeners_hear_of_each_save_and_each_upstream_message() -> None:
    intake = Intake()
    heard: list[int] = []
    intake.add_listener(lambda: heard.append(intake.recorder.max_notification_id() or 0))
    intake.report_incident(
        school="OAK",
        disclosure_route="peer",
        summary="Invented",
        recorded_by="staff.a",
        recorded_by_role="staff",
    )
    assert heard == [3]  # the reference sequence (started, allocated) and the case, together
    notice = DeadLetterNotice("referral", 7, "referral.x", "Invented", 5, datetime.now(UTC))
    intake.apply_upstream(notice, Tracking("referral", 7))
    assert heard == [3, 4]
