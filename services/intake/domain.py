"""Intake's aggregates: the incident (the case) and the per-school reference sequence.

Every entry records who did it, when it happened (``occurred_at``) and when it was recorded
(``recorded_at``), so that a record written up later from paper is honest about both.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from shared.application import NAMESPACE

DISCLOSURE_ROUTES = (
    "young_person",
    "peer",
    "staff_discovery",
    "parent_or_carer",
    "other_agency",
    "anonymous",
)


class IntakeError(ValueError):
    """A request that breaks an intake rule; the message says which."""


class Incident(Aggregate):
    """One incident disclosed at a school: the case, from step 1 on."""

    class Reported(Aggregate.Created):
        """A member of staff recorded a disclosure."""

        PERSONAL_FIELDS: ClassVar[tuple[str, ...]] = ("summary",)

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


def check_disclosure_route(route: str) -> None:
    if route not in DISCLOSURE_ROUTES:
        msg = f"unknown disclosure route {route!r}; one of {', '.join(DISCLOSURE_ROUTES)}"
        raise IntakeError(msg)


def check_occurred_before_recorded(occurred_at: datetime, recorded_at: datetime) -> None:
    if occurred_at.tzinfo is None:
        msg = "occurred_at needs a time zone"
        raise IntakeError(msg)
    if occurred_at > recorded_at:
        msg = "occurred_at is later than the time it was recorded"
        raise IntakeError(msg)
