"""The intake application: commands staff and the DSL use to record steps 1-4."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from functools import singledispatchmethod
from typing import Any, ClassVar, TypeVar
from uuid import UUID, uuid4, uuid5

from eventsourcing.application import AggregateNotFoundError, ProcessingEvent
from eventsourcing.domain import MutableOrImmutableAggregate
from eventsourcing.persistence import IntegrityError

from services.intake.domain import (
    Incident,
    IntakeError,
    Recording,
    ReferenceSequence,
    YoungPersonRecorded,
)
from shared.application import (
    NAMESPACE,
    CaseChangedError,
    Clock,
    IdempotencyKeyReusedError,
    ServiceApplication,
    key_reused,
)
from shared.contracts.referral import ActionCompletedV1
from shared.contracts.streams import message_id

__all__ = [
    "CaseChangedError",
    "IdempotencyKeyReusedError",
    "IncidentNotFoundError",
    "Intake",
    "ReferenceBusyError",
]

ALLOCATION_ATTEMPTS = 20
T = TypeVar("T")


class IncidentNotFoundError(LookupError):
    """No incident has that id."""


def check_same_disclosure(
    incident: Incident, disclosure_route: str, summary: str, occurred_at: datetime | None
) -> None:
    if (
        incident.disclosure_route != disclosure_route
        or incident.summary != summary
        or (occurred_at is not None and occurred_at != incident.occurred_at)
    ):
        msg = (
            f"this Idempotency-Key already recorded case {incident.reference} with other "
            "details; send a new disclosure with a new key"
        )
        raise IdempotencyKeyReusedError(msg)


class ReferenceBusyError(RuntimeError):
    """Other disclosures kept taking the next reference; nothing was recorded, retry."""


class Intake(ServiceApplication):
    """Records disclosures; its notification log is the outbox the relay publishes."""

    name = "intake"
    case_opened = Incident.Reported
    # A school's reference sequence gains an event per disclosure; snapshots keep loading it
    # from costing a replay of the whole year.
    snapshotting_intervals: ClassVar[dict[type[MutableOrImmutableAggregate[UUID]], int]] = {
        ReferenceSequence: 50
    }

    def __init__(self, env: dict[str, str] | None = None, clock: Clock | None = None) -> None:
        super().__init__(env, clock)
        # One allocation at a time per school in this process, so concurrent disclosures queue
        # instead of colliding on the reference sequence; other processes are caught by the
        # store's optimistic concurrency and retried below.
        self._school_locks: dict[str, threading.Lock] = {}
        self._school_locks_lock = threading.Lock()

    def report_incident(
        self,
        *,
        school: str,
        disclosure_route: str,
        summary: str,
        recorded_by: str,
        recorded_by_role: str,
        occurred_at: datetime | None = None,
        idempotency_key: str | None = None,
        young_people: Sequence[dict[str, Any]] = (),
    ) -> tuple[Incident, bool]:
        """Record a disclosure, with the young people it involves; the incident and whether
        this call created it.

        With an ``idempotency_key`` the case id is derived from it, so a client's retry finds the
        case its first attempt recorded instead of recording a second one.
        """
        case_id = (
            # The key names the disclosure, not who sends it: a school's queued disclosure
            # retried from another account is still one case.
            uuid5(NAMESPACE, f"incident:{school}:{idempotency_key}") if idempotency_key else uuid4()
        )
        with self._school_lock(school):
            return self._report(
                case_id,
                school,
                disclosure_route,
                summary,
                recorded_by,
                recorded_by_role,
                occurred_at,
                [YoungPersonRecorded.checked(details) for details in young_people],
            )

    def _report(
        self,
        case_id: UUID,
        school: str,
        disclosure_route: str,
        summary: str,
        recorded_by: str,
        recorded_by_role: str,
        occurred_at: datetime | None,
        young_people: list[dict[str, Any]],
    ) -> tuple[Incident, bool]:
        pseudonyms = [p["pseudonym"] for p in young_people]
        if len(set(pseudonyms)) != len(pseudonyms):
            msg = "a young person is listed twice: one entry per pseudonym"
            raise IntakeError(msg)
        for attempt in range(ALLOCATION_ATTEMPTS):
            existing = self._find(case_id)
            if existing is not None:
                check_same_disclosure(existing, disclosure_route, summary, occurred_at)
                first_recorded = [
                    p
                    for p in existing.young_people_history
                    if p.recorded_at == existing.recorded_at
                ]
                if len(first_recorded) != len(young_people) or not all(
                    p.same_as(d) for p, d in zip(first_recorded, young_people, strict=True)
                ):
                    raise key_reused(f"case {existing.reference}")
                return existing, False
            now = self.clock()
            sequence = self._reference_sequence(school, now.year)
            sequence.allocate()
            incident = Incident(
                id=case_id,
                school=school,
                reference=sequence.reference,
                disclosure_route=disclosure_route,
                summary=summary,
                recorded_by=recorded_by,
                recorded_by_role=recorded_by_role,
                occurred_at=occurred_at or now,
                recorded_at=now,
            )
            by = Recording(recorded_by, recorded_by_role, occurred_at or now, now)
            for details in young_people:
                YoungPersonRecorded.record(incident, by, **details)
            try:
                # One transaction: the reference and the case are stored together or not at all.
                self.save(sequence, incident)
            except IntegrityError:
                # Another process took this reference, or recorded this key: look again.
                time.sleep(random.uniform(0, 0.005 * (attempt + 1)))  # noqa: S311 - jitter
                continue
            return incident, True
        msg = f"{school}: the reference sequence stayed busy; nothing was recorded"
        raise ReferenceBusyError(msg)

    def _school_lock(self, school: str) -> threading.Lock:
        with self._school_locks_lock:
            return self._school_locks.setdefault(school, threading.Lock())

    @singledispatchmethod
    def on_upstream(self, contract: Any, processing_event: ProcessingEvent[UUID]) -> None:
        """Contracts intake does not act on."""

    @on_upstream.register
    def _(self, contract: ActionCompletedV1, processing_event: ProcessingEvent[UUID]) -> None:
        # A referral to the police, CEOP or social care brings another agency in: from then on
        # young people are not asked to delete copies, which may be evidence.
        incident = self._find(contract.case_id)
        if incident is None:
            return
        assert processing_event.tracking is not None
        incident.note_agency_referral(
            contract.action,
            message_id("referral", processing_event.tracking.notification_id),
            contract.occurred_at,
        )
        processing_event.collect_events(incident)

    def get_case(self, case_id: UUID) -> Incident:
        return self.get_incident(case_id)

    def get_incident(self, case_id: UUID) -> Incident:
        incident = self._find(case_id)
        if incident is None:
            raise IncidentNotFoundError(case_id)
        return incident

    def _find(self, case_id: UUID) -> Incident | None:
        try:
            incident: object = self.repository.get(case_id)
        except AggregateNotFoundError:
            return None
        return incident if isinstance(incident, Incident) else None

    def _reference_sequence(self, school: str, year: int) -> ReferenceSequence:
        try:
            sequence: object = self.repository.get(ReferenceSequence.create_id(school, year))
        except AggregateNotFoundError:
            return ReferenceSequence(school=school, year=year)
        assert isinstance(sequence, ReferenceSequence)
        return sequence
