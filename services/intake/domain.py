"""Intake's aggregates: the incident (the case) and the per-school reference sequence.

Every entry records who did it, when it happened (``occurred_at``) and when it was recorded
(``recorded_at``), so that a record written up later from paper is honest about both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
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


UNKNOWN = "unknown"
YES_NO = ("yes", "no", UNKNOWN)

# Step 1 of the policy: the nine triage questions, each answered or "unknown".
STEP_1_QUESTIONS: dict[str, tuple[str, ...]] = {
    "disclosing_about": ("receiving", "sending", "sharing", UNKNOWN),  # one or more
    "image_nature": ("potentially_illegal", "inappropriate", UNKNOWN),
    "ai_generated_or_altered": YES_NO,
    "dsl_consulted": YES_NO,
    "how_widely_shared": (
        "not_shared",
        "one_recipient",
        "small_group",
        "widely",
        "public_online",
        UNKNOWN,
    ),
    "device_in_possession": YES_NO,
    "device_ownership": ("school", "personal", UNKNOWN),
    "immediate_support_needed": YES_NO,
    "other_young_people_involved": YES_NO,
}
# The facts that decide a referral (UKCIS immediate-referral criteria, and sextortion).
REFERRAL_FACTS: dict[str, tuple[str, ...]] = {
    "adult_involvement": ("no", "suspected", "yes", UNKNOWN),
    "coercion_blackmail_or_grooming": YES_NO,
    "capacity_to_consent_concerns": YES_NO,
    "acts_unusual_or_violent": YES_NO,
    "pictured_under_13": YES_NO,
    "immediate_risk_of_harm": YES_NO,
    "financially_motivated_extortion": YES_NO,
}
TRIAGE_ANSWERS = {**STEP_1_QUESTIONS, **REFERRAL_FACTS}
MULTI_ANSWER = frozenset({"disclosing_about"})
IMAGE_LOCATION_KINDS = ("device", "school_network", "site_or_app", UNKNOWN)


CLOCK_SKEW = timedelta(minutes=5)
"""How far ahead of the server a school computer's clock may run: its "now" is not refused as
the future. Beyond that, an occurred_at later than its recording is a mistake."""


class IntakeError(ValueError):
    """A request that breaks an intake rule; the message says which."""


class NeedsReasonError(IntakeError):
    """A correction of an earlier entry without the reason for it."""


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
        self.triage: list[Triage] = []
        self.triage_keys: dict[str, int] = {}

    class TriageRecorded(Aggregate.Event):
        """Step 1 answered (again: a correction keeps every earlier entry)."""

        PERSONAL_FIELDS: ClassVar[tuple[str, ...]] = ("image_locations", "reason")

        school: str
        reference: str
        number: int
        answers: dict[str, Any]
        image_locations: list[dict[str, str]]
        reason: str
        recorded_by: str
        recorded_by_role: str
        occurred_at: datetime
        recorded_at: datetime
        idempotency_key: str

    def record_triage(
        self,
        answers: dict[str, Any],
        image_locations: list[dict[str, str]],
        reason: str,
        recorded_by: str,
        recorded_by_role: str,
        occurred_at: datetime,
        recorded_at: datetime,
        idempotency_key: str = "",
    ) -> None:
        """Record the step 1 answers; every question not answered is recorded as unknown."""
        complete = complete_answers(answers)
        check_image_locations(image_locations)
        check_occurred_before_recorded(occurred_at, recorded_at)
        if self.triage and not reason.strip():
            msg = f"triage {len(self.triage)} exists: a correction needs its reason"
            raise NeedsReasonError(msg)
        self._triage_recorded(
            school=self.school,
            reference=self.reference,
            number=len(self.triage) + 1,
            answers=complete,
            image_locations=image_locations,
            reason=reason,
            recorded_by=recorded_by,
            recorded_by_role=recorded_by_role,
            occurred_at=occurred_at,
            recorded_at=recorded_at,
            idempotency_key=idempotency_key,
        )

    @event(TriageRecorded)
    def _triage_recorded(
        self,
        school: str,
        reference: str,
        number: int,
        answers: dict[str, Any],
        image_locations: list[dict[str, str]],
        reason: str,
        recorded_by: str,
        recorded_by_role: str,
        occurred_at: datetime,
        recorded_at: datetime,
        idempotency_key: str,
    ) -> None:
        self.triage.append(
            Triage(
                number,
                answers,
                image_locations,
                reason,
                recorded_by,
                recorded_by_role,
                occurred_at,
                recorded_at,
            )
        )
        if idempotency_key:
            self.triage_keys[idempotency_key] = number


@dataclass(frozen=True)
class Triage:
    """One triage entry: the answers as known when it was recorded."""

    number: int
    answers: dict[str, Any]
    image_locations: list[dict[str, str]]
    reason: str
    recorded_by: str
    recorded_by_role: str
    occurred_at: datetime
    recorded_at: datetime


def complete_answers(answers: dict[str, Any]) -> dict[str, Any]:
    """Every question with an allowed answer; the ones not given are unknown."""
    unknown_questions = set(answers) - set(TRIAGE_ANSWERS)
    if unknown_questions:
        msg = f"no triage question {', '.join(sorted(unknown_questions))}"
        raise IntakeError(msg)
    complete: dict[str, Any] = {}
    for question, allowed in TRIAGE_ANSWERS.items():
        given = answers.get(question, [UNKNOWN] if question in MULTI_ANSWER else UNKNOWN)
        values = list(given) if question in MULTI_ANSWER else [given]
        wrong = [v for v in values if v not in allowed]
        if wrong or not values:
            msg = f"{question}: {wrong or 'no answer'} is not one of {', '.join(allowed)}"
            raise IntakeError(msg)
        if question in MULTI_ANSWER and UNKNOWN in values and len(values) > 1:
            msg = f"{question}: unknown cannot stand with other answers"
            raise IntakeError(msg)
        complete[question] = sorted(set(values)) if question in MULTI_ANSWER else given
    return complete


def check_image_locations(locations: list[dict[str, str]]) -> None:
    for location in locations:
        if location.get("kind") not in IMAGE_LOCATION_KINDS:
            msg = f"image location kind must be one of {', '.join(IMAGE_LOCATION_KINDS)}"
            raise IntakeError(msg)


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
    if occurred_at > recorded_at + CLOCK_SKEW:
        msg = "occurred_at is later than the time it was recorded"
        raise IntakeError(msg)
