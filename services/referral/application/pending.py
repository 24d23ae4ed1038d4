"""What referral still has to follow up, found from its own notification log: notices not yet
delivered or given up, and cases with outstanding actions (to list when overdue, and escalate).

The index is a cache in each process, never the record: every entry is read back from the
aggregate itself whenever one of its events appears in the log, and every decision (send,
escalate) is taken on the aggregate as stored, under optimistic concurrency. On start it reads
the log from a low-water mark kept in the tracking table: the oldest position at which something
was still pending. Everything before it is settled (a notice delivered or given up, a case with
nothing outstanding) and becomes pending again only through a newer event, so a restart reads
only the log since the oldest open matter, with a topic filter, never every aggregate.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError, ProcessRecorder, Tracking

from services.referral.domain import ActionCompleted, ActionDeclined, Referral
from services.referral.domain.deadlines import DSL, HEAD, head_escalation_at
from services.referral.domain.notices import Notice
from shared.topics import topics_of

TRACKING_NAME = "referral-followups"
BATCH = 500
# Every topic each event was stored under, old ones too: a case whose actions were opened
# before its classes moved (issue 13) is still followed up.
CASE_TOPICS = topics_of(
    Referral.AssessmentRecorded, ActionCompleted, ActionDeclined, Referral.ActionEscalated
)
NOTICE_TOPICS = topics_of(
    Notice.Created, Notice.AttemptStarted, Notice.Delivered, Notice.Failed, Notice.GaveUp
)


@dataclass(frozen=True)
class OutstandingAction:
    """An action of a case still outstanding: by when, and whom its lapse went to."""

    case_id: UUID
    school: str
    reference: str
    action: str
    level: str
    why: str
    required_since: datetime
    due_at: datetime
    escalate_to_head_at: datetime
    escalated_to: tuple[str, ...]
    policy_version: str

    def overdue(self, now: datetime) -> bool:
        return now > self.due_at

    def escalation_due(self, now: datetime) -> bool:
        return (self.overdue(now) and DSL not in self.escalated_to) or (
            now > self.escalate_to_head_at and HEAD not in self.escalated_to
        )


def outstanding_of(referral: Referral) -> tuple[OutstandingAction, ...]:
    return tuple(
        OutstandingAction(
            referral.id,
            referral.school,
            referral.reference,
            a.action,
            a.level,
            a.why,
            a.required_since,
            a.due_at,
            head_escalation_at(a),
            tuple(a.escalated_to),
            a.policy_version,
        )
        for a in referral.actions.values()
        if a.outstanding
    )


class PendingIndex:
    """Unsettled notices and cases with outstanding actions, followed from the log."""

    def __init__(self, recorder: ProcessRecorder, load: Callable[[UUID], Any]) -> None:
        self._recorder = recorder
        self._load = load
        self._lock = threading.Lock()
        self._position: int | None = None
        self._mark = 0
        self._cases: dict[UUID, tuple[int, tuple[OutstandingAction, ...]]] = {}
        self._notices: dict[UUID, tuple[int, datetime]] = {}

    @property
    def mark(self) -> int:
        """The position from which a restart reads the log again."""
        return self._mark

    def outstanding(self) -> list[OutstandingAction]:
        """Every outstanding action, as of the log's latest event."""
        with self._lock:
            self._catch_up()
            return [a for _, actions in self._cases.values() for a in actions]

    def notices_due(self, now: datetime) -> list[UUID]:
        """Notices to attempt (or whose attempt's lease ran out) at ``now``, oldest first."""
        with self._lock:
            self._catch_up()
            due = [(at, i) for i, (_, at) in self._notices.items() if at <= now]
        return [i for _, i in sorted(due)]

    def _catch_up(self) -> None:
        if self._position is None:
            self._mark = self._recorder.max_tracking_id(TRACKING_NAME) or 1
            self._position = self._mark - 1
        dirty: dict[UUID, tuple[bool, int]] = {}
        while True:
            batch = self._recorder.select_notifications(
                start=self._position + 1, limit=BATCH, topics=CASE_TOPICS + NOTICE_TOPICS
            )
            for n in batch:
                dirty[UUID(str(n.originator_id))] = (n.topic in NOTICE_TOPICS, n.id)
                self._position = n.id
            if len(batch) < BATCH:
                break
        for originator_id, (is_notice, seen) in dirty.items():
            self._refresh(originator_id, is_notice, seen)
        self._advance_mark()

    def _refresh(self, originator_id: UUID, is_notice: bool, seen: int) -> None:
        aggregate = self._load(originator_id)
        if is_notice:
            assert isinstance(aggregate, Notice)
            self._notices.pop(originator_id, None)
            if aggregate.due_at is not None:
                self._notices[originator_id] = (seen, aggregate.due_at)
            return
        assert isinstance(aggregate, Referral)
        self._cases.pop(originator_id, None)
        if actions := outstanding_of(aggregate):
            self._cases[originator_id] = (seen, actions)

    def _advance_mark(self) -> None:
        assert self._position is not None
        seen = [s for s, _ in self._cases.values()] + [s for s, _ in self._notices.values()]
        mark = min(seen, default=self._position + 1)
        if mark <= self._mark:
            return
        self._mark = mark
        # Another process may have noted the same mark: one row is enough.
        if mark > (self._recorder.max_tracking_id(TRACKING_NAME) or 0):
            with contextlib.suppress(IntegrityError):
                self._recorder.insert_tracking(Tracking(TRACKING_NAME, mark))
