"""The case as intake holds it: the incident a member of staff records when a young person
discloses (step 1), with every entry of steps 1 to 4 kept in order; and each school's sequence
of human references.

Each kind of entry is declared in the module of its step (:mod:`.disclosure`,
:mod:`.device_search`, :mod:`.image`, :mod:`.who_deals`) and recorded by its own command
(``DeviceSearched.record(incident, by, **facts)``); the incident keeps each entry as the event
itself, in the list the kind names.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from services.intake.domain.device_search import DeviceSearched, SearchAuthorised, SearchDeclined
from services.intake.domain.disclosure import (
    TriageRecorded,
    YoungPersonRecorded,
    check_disclosure_route,
)
from services.intake.domain.errors import IntakeError, check_occurred_before_recorded
from services.intake.domain.image import (
    REFERRAL_AGENCIES,
    DeletionConfirmed,
    DeletionRequested,
    DeviceCustodyRecorded,
    ImageContained,
    ImageNotViewedAttested,
    ImageReportedToSite,
    ImageViewed,
    ImageViewingAgreed,
)
from services.intake.domain.who_deals import DslAssigned, LeadershipInformed
from shared.application import NAMESPACE
from shared.entries import CaseEntry


class Incident(Aggregate):
    """One incident disclosed at a school: the case, from step 1 on."""

    class Reported(Aggregate.Created):
        """A member of staff recorded a disclosure."""

        school: str
        reference: str
        disclosure_route: str
        summary: str
        recorded_by: str
        recorded_by_role: str
        occurred_at: datetime
        recorded_at: datetime

    @event(Reported)
    def __init__(
        self,
        id: UUID,
        school: str,
        reference: str,
        disclosure_route: str,
        summary: str,
        recorded_by: str,
        recorded_by_role: str,
        occurred_at: datetime,
        recorded_at: datetime,
    ) -> None:
        check_disclosure_route(disclosure_route)
        check_occurred_before_recorded(occurred_at, recorded_at)
        self.school = school
        self.reference = reference
        self.disclosure_route = disclosure_route
        self.summary = summary
        self.recorded_by = recorded_by
        self.recorded_by_role = recorded_by_role
        self.occurred_at = occurred_at
        self.recorded_at = recorded_at
        # Step 1: each young person as last recorded, and every record of them in order.
        self.young_people: dict[str, YoungPersonRecorded] = {}
        self.young_people_history: list[YoungPersonRecorded] = []
        self.triage: list[TriageRecorded] = []
        # Step 2.
        self.search_authorisations: list[SearchAuthorised] = []
        self.searches: list[DeviceSearched] = []
        self.searches_declined: list[SearchDeclined] = []
        # Step 3.
        self.custody: list[DeviceCustodyRecorded] = []
        self.not_viewed_attestations: list[ImageNotViewedAttested] = []
        self.viewing_agreements: list[ImageViewingAgreed] = []
        self.viewings: list[ImageViewed] = []
        self.containment: list[ImageContained] = []
        self.site_reports: list[ImageReportedToSite] = []
        self.deletion_requests: list[DeletionRequested] = []
        self.deletion_confirmations: list[DeletionConfirmed] = []
        # Step 4.
        self.informed: list[LeadershipInformed] = []
        self.dsl_assignments: list[DslAssigned] = []
        self.dsl: str | None = None
        # Every entry an Idempotency-Key recorded, by the (user-scoped) key.
        self.entry_keys: dict[str, CaseEntry] = {}
        self.flagged_for_review: list[str] = []
        self.referred_to: list[str] = []

    def young_person(self, pseudonym: str) -> YoungPersonRecorded:
        """The young person as last recorded, or an :class:`IntakeError`: record them first."""
        try:
            return self.young_people[pseudonym]
        except KeyError:
            msg = f"no young person {pseudonym} on this case: record them first"
            raise IntakeError(msg) from None

    def custody_of(self, device: str) -> DeviceCustodyRecorded | None:
        """The device's last custody entry, if it has one."""
        return next((c for c in reversed(self.custody) if c.device == device), None)

    def agencies_involved(self) -> list[str]:
        """What intake knows of other agencies on the case, by code."""
        agencies = []
        if self.disclosure_route == "other_agency":
            agencies.append("disclosed_by_another_agency")
        if any(c.action == "handed_to_police" for c in self.custody):
            agencies.append("device_with_police")
        return agencies + [a for a in self.referred_to if a not in agencies]

    class AgencyReferralNoted(Aggregate.Event):
        """The referral service published that the DSL brought another agency in (a police
        referral, a CEOP report, a referral to children's social care)."""

        agency: str
        noted_from: str
        occurred_at: datetime

        def apply(self, aggregate: Any) -> None:
            if self.agency not in aggregate.referred_to:
                aggregate.referred_to.append(self.agency)

    def note_agency_referral(self, action: str, noted_from: str, occurred_at: datetime) -> None:
        """Note a referral made in the referral service; any other action is no agency's."""
        agency = REFERRAL_AGENCIES.get(action)
        if agency is not None:
            self.trigger_event(
                self.AgencyReferralNoted,
                agency=agency,
                noted_from=noted_from,
                occurred_at=occurred_at,
            )


class ReferenceSequence(Aggregate):
    """Hands out each school's human references, one year at a time: ``OAK-2026-0007``."""

    @event("Started")
    def __init__(self, school: str, year: int) -> None:
        self.school = school
        self.year = year
        self.last = 0

    @staticmethod
    def create_id(school: str, year: int, *args: Any, **kwargs: Any) -> UUID:
        return uuid5(NAMESPACE, f"reference-sequence:{school}:{year}")

    @event("Allocated")
    def allocate(self) -> None:
        self.last += 1

    @property
    def reference(self) -> str:
        return f"{self.school}-{self.year}-{self.last:04d}"
