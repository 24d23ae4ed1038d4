"""Step 3 in review's chronology: intake's real entries, published as the relay publishes them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import Tracking

from services.intake.adapters.contracts import PUBLISHED, to_contract
from services.intake.application import Intake
from services.intake.domain import (
    CaseEntry,
    DeletionConfirmed,
    DeletionRequested,
    DeviceCustodyRecorded,
    DslAssigned,
    ImageContained,
    ImageNotViewedAttested,
    ImageReportedToSite,
    ImageViewed,
    ImageViewingAgreed,
)
from services.review.application import Reviews
from services.review.domain import CaseRecord
from shared.topics import topics_of

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
PHONE = "YP-1's phone"
NOT_IN_CUSTODY = {"location": "", "switched_off": True, "officer_reference": "", "note": ""}


def minutes_from(start: datetime) -> Iterator[datetime]:
    now = start
    while True:
        yield now
        now += timedelta(minutes=1)


class Case:
    """One invented case on intake's in-memory store; each entry a minute after the last."""

    def __init__(self) -> None:
        ticks = minutes_from(T0)
        self.intake = Intake(clock=lambda: next(ticks))
        incident, _ = self.intake.report_incident(
            school="OAK",
            disclosure_route="young_person",
            summary="Invented",
            recorded_by="staff.a",
            recorded_by_role="staff",
            young_people=[
                {"pseudonym": "YP-1", "year_group": 9, "sex": "female", "roles": ["pictured"]}
            ],
        )
        self.case_id: UUID = incident.id
        # The DSL takes the case (step 4): the one the head may agree to a viewing by.
        self.record(DslAssigned, "dsl.oak", "dsl", dsl="dsl.oak", reason="")

    def record(self, kind: type[CaseEntry], by: str, role: str, **details: Any) -> None:
        self.intake.record_entry(
            self.case_id, kind, details=details, recorded_by=by, recorded_by_role=role
        )

    def chronology(self) -> list[CaseRecord.EntryRecorded]:
        """Review's chronology of every event the relay would publish, at its position."""
        reviews = Reviews()
        topics = list(topics_of(*PUBLISHED))
        for notification in self.intake.recorder.select_notifications(
            start=None, limit=100, topics=topics
        ):
            contract = to_contract(self.intake.mapper.to_domain_event(notification))
            assert contract is not None
            reviews.process_event(contract, Tracking("intake", notification.id))
        return reviews.get_case(self.case_id).chronology()


@pytest.fixture
def case() -> Case:
    return Case()


def custody(action: str, held_by: str, seal: str, **changes: Any) -> dict[str, Any]:
    return {
        "device": PHONE,
        "pseudonym": "YP-1",
        "action": action,
        "held_by": held_by,
        "seal_number": seal,
        **NOT_IN_CUSTODY,
        **changes,
    }


def ask_to_delete(case: Case) -> None:
    case.record(
        DeletionRequested,
        "dsl.oak",
        "dsl",
        pseudonym="YP-1",
        deadline=datetime(2026, 11, 26, 16, 0, tzinfo=UTC),
        places=["devices", "social_media_accounts"],
    )


def test_a_whole_step_3_shows_in_the_chronology_in_order_and_in_words(case: Case) -> None:
    case.record(
        DeviceCustodyRecorded,
        "staff.a",
        "staff",
        **custody("confiscated", "staff.a", "SEAL-0001", location="DSL office safe"),
    )
    case.record(
        ImageNotViewedAttested,
        "staff.a",
        "staff",
        context="Invented: took the phone face down and sealed it",
    )
    case.record(
        DeviceCustodyRecorded,
        "dsl.oak",
        "dsl",
        **custody(
            "transferred",
            "dsl.oak",
            "SEAL-0002",
            location="locked cabinet, head's office",
            note="Invented: seal opened to note the serial number",
        ),
    )
    case.record(
        ImageViewingAgreed,
        "head.oak",
        "head",
        dsl="dsl.oak",
        pseudonym="YP-1",
        reason="Invented: the police cannot attend today",
    )
    case.record(
        ImageViewed,
        "dsl.oak",
        "dsl",
        pseudonym="YP-1",
        viewer_sex="female",
        senior_present="deputy.oak",
        on_school_premises=True,
        same_sex_not_possible_reason="",
        reason="Invented: to decide whether to refer",
        what_was_seen="Invented: described in words only",
        what_was_done="Invented: phone resealed",
    )
    case.record(
        ImageContained,
        "it.oak",
        "staff",
        action="network_blocked",
        done_by="it.oak",
        where="school Wi-Fi",
    )
    case.record(
        ImageReportedToSite,
        "dsl.oak",
        "dsl",
        site="Invented social app",
        report_reference="SITE-REF-77",
    )
    ask_to_delete(case)
    case.record(
        DeviceCustodyRecorded,
        "dsl.oak",
        "dsl",
        **custody(
            "handed_to_police", "PC Invented", "SEAL-0002", officer_reference="INV-POLICE-0042"
        ),
    )
    case.record(DeletionConfirmed, "dsl.oak", "dsl", pseudonym="YP-1", how="Invented: in person")

    entries = case.chronology()

    assert [e.kind for e in entries] == [
        "disclosure_recorded",
        "young_person_recorded",
        "dsl_assigned",
        "device_confiscated",
        "image_not_viewed_attested",
        "device_transferred",
        "image_viewing_agreed",
        "image_viewed",
        "network_blocked",
        "image_reported_to_site",
        "deletion_requested",
        "device_handed_to_police",
        "deletion_confirmed",
    ]
    said = {e.kind: e.summary for e in entries}
    assert (
        "switched off, seal SEAL-0001: held by staff.a, DSL office safe"
        in (said["device_confiscated"])
    )
    assert "staff.a attests they did not view the image" in said["image_not_viewed_attested"]
    assert "seal SEAL-0002: held by dsl.oak, locked cabinet" in said["device_transferred"]
    assert "seal opened to note the serial number" in said["device_transferred"]
    assert "head.oak agreed that dsl.oak may view" in said["image_viewing_agreed"]
    assert "the police cannot attend today" in said["image_viewing_agreed"]
    assert "agreed by head.oak, deputy.oak present, on school premises" in said["image_viewed"]
    assert "to decide whether to refer" in said["image_viewed"]
    assert "described in words only" not in said["image_viewed"]
    assert said["network_blocked"] == "School network blocked to all users by it.oak: school Wi-Fi"
    assert "SITE-REF-77" in said["image_reported_to_site"]
    assert "by 2026-11-26 16:00 UTC" in said["deletion_requested"]
    assert "devices, social media accounts" in said["deletion_requested"]
    assert (
        "police (PC Invented), officer reference INV-POLICE-0042"
        in (said["device_handed_to_police"])
    )
    assert said["deletion_confirmed"].startswith("FOR REVIEW: YP-1 confirmed deleting")
    assert "(device with police)" in said["deletion_confirmed"]
    agreement = next(e for e in entries if e.kind == "image_viewing_agreed")
    assert (agreement.actor, agreement.actor_role) == ("head.oak", "head")


def test_a_deletion_confirmed_while_the_school_deals_with_it_alone_is_not_for_review(
    case: Case,
) -> None:
    ask_to_delete(case)
    case.record(DeletionConfirmed, "dsl.oak", "dsl", pseudonym="YP-1", how="Invented: in person")

    confirmed = case.chronology()[-1]

    assert confirmed.kind == "deletion_confirmed"
    assert confirmed.summary == "YP-1 confirmed deleting every copy: Invented: in person"


def test_a_school_device_in_custody_is_not_said_to_be_a_young_persons(case: Case) -> None:
    case.record(
        DeviceCustodyRecorded,
        "staff.a",
        "staff",
        **custody(
            "confiscated",
            "staff.a",
            "SEAL-0009",
            location="office safe",
            device="a school laptop",
            pseudonym="",
        ),
    )

    confiscated = case.chronology()[-1]

    assert confiscated.summary.startswith("a school laptop confiscated, switched off")
