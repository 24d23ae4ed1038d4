"""Referral's aggregate: one per case, holding each assessment of its facts."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate, event


class Referral(Aggregate):
    """What the policy requires for one case, and what was decided."""

    class Opened(Aggregate.Created):
        school: str
        reference: str

    class AssessmentRecorded(Aggregate.Event):
        """The facts known at ``occurred_at`` were assessed under ``policy_version``."""

        school: str
        reference: str
        number: int
        classification: str
        missing_facts: tuple[str, ...]
        policy_version: str
        caused_by: str
        recorded_by: str
        occurred_at: datetime
        recorded_at: datetime

    @event(Opened)
    def __init__(self, id: UUID, school: str, reference: str) -> None:
        self.school = school
        self.reference = reference
        self.assessments: list[tuple[str, str]] = []

    @event(AssessmentRecorded)
    def record_assessment(
        self,
        school: str,
        reference: str,
        number: int,
        classification: str,
        missing_facts: tuple[str, ...],
        policy_version: str,
        caused_by: str,
        recorded_by: str,
        occurred_at: datetime,
        recorded_at: datetime,
    ) -> None:
        self.assessments.append((classification, policy_version))
