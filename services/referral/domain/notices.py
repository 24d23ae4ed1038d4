"""Notices the referral service sends itself: one per case, action, recipient and the event that
called for it (the assessment that newly required the action, or its escalation), with every
attempt at delivering it, its outcome, the retries and the give-up.

A notice carries the minimum a recipient needs to act and to find the case: its reference, the
school, what is needed and why, how urgent, and a link. Never a young person's pseudonym or
name, never free text from the case, never anything of the image: hence no personal fields.

Crash safety: an attempt is recorded (``AttemptStarted``) before anything is sent, and every
attempt at one notice carries the notice's own id as its idempotency key (the webhook's
``Idempotency-Key``, the email's ``Message-ID``). An attempt whose outcome was never recorded
(the process stopped between sending and recording) is presumed lost once its lease has run
out, recorded as failed, and sent again with the same key, so the receiver can drop the copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from math import ceil
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from services.referral.domain.actions import Action

NOTICES = uuid5(NAMESPACE_URL, "https://safeguard.invalid/referral/notices")
ACTION_REQUIRED, ACTION_OVERDUE = "action_required", "action_overdue"
LOST = "no outcome was recorded (the process stopped during the attempt); sent again, same key"


def urgency(action: Action) -> str:
    """How soon the policy wants it done, in words a recipient can sort by."""
    allowed = action.due_at - action.required_since
    if allowed <= timedelta(hours=1):
        return "immediate"
    if allowed <= timedelta(days=1):
        return "within 24 hours"
    return f"within {ceil(allowed / timedelta(days=1))} days"


def notice_content(
    kind: str,
    *,
    reference: str,
    school: str,
    school_name: str,
    action: Action,
    link: str,
    escalated_to: str = "",
) -> dict[str, str]:
    """Everything a notice says: the case's reference and school, what is needed and why (the
    policy's words, never the case's), how urgent, and the link. Nothing personal."""
    content = {
        "notice": kind,
        "case_reference": reference,
        "school": school,
        "school_name": school_name,
        "action": action.action,
        "level": action.level,
        "why": action.why,
        "urgency": "overdue" if kind == ACTION_OVERDUE else urgency(action),
        "due_at": action.due_at.isoformat(),
        "link": link,
        "policy_version": action.policy_version,
    }
    if escalated_to:
        content["escalated_to"] = escalated_to
    return content


@dataclass(frozen=True)
class RetryPolicy:
    """How often, how soon and for how long a notice is tried."""

    max_attempts: int
    first_backoff: timedelta
    max_backoff: timedelta
    lease: timedelta
    """How long an attempt may take: after this without an outcome it is presumed lost."""

    def backoff(self, attempt: int) -> timedelta:
        """The wait after failed attempt ``attempt`` (1, 2, ...): doubling, capped."""
        doubled: timedelta = self.first_backoff * 2 ** (attempt - 1)
        return min(doubled, self.max_backoff)


@dataclass(frozen=True)
class Dispatch:
    """One attempt at a notice, as the delivery worker sends it."""

    notice_id: UUID
    attempt: int
    channel: str
    destination: str
    secret_setting: str
    content: dict[str, str]

    @property
    def idempotency_key(self) -> str:
        """The same for every attempt at one notice."""
        return str(self.notice_id)


class Notice(Aggregate):
    """One notice to one recipient, and every attempt at delivering it."""

    class Created(Aggregate.Created):
        case_id: UUID
        action: str
        cause: str
        recipient: str
        channel: str
        destination: str
        secret_setting: str
        content: dict[str, str]
        created_at: datetime

    @event(Created)
    def __init__(
        self,
        case_id: UUID,
        action: str,
        cause: str,
        recipient: str,
        channel: str,
        destination: str,
        secret_setting: str,
        content: dict[str, str],
        created_at: datetime,
    ) -> None:
        self.case_id = case_id
        self.action = action
        self.cause = cause
        self.recipient = recipient
        self.channel = channel
        self.destination = destination
        self.secret_setting = secret_setting
        self.content = content
        self.created_at = created_at
        self.attempts = 0
        self.in_flight_until: datetime | None = None
        self.next_attempt_at = created_at
        self.delivered_at: datetime | None = None
        self.gave_up_at: datetime | None = None
        self.last_error = ""

    @staticmethod
    def create_id(case_id: UUID, action: str, recipient: str, cause: str) -> UUID:
        """Deterministic: the same assessment (or escalation) never makes a second notice."""
        return uuid5(NOTICES, f"{case_id}:{action}:{recipient}:{cause}")

    @property
    def settled(self) -> bool:
        """Delivered or given up: nothing more will be sent."""
        return self.delivered_at is not None or self.gave_up_at is not None

    @property
    def due_at(self) -> datetime | None:
        """When the worker should next look at it; None once settled."""
        if self.settled:
            return None
        return self.in_flight_until or self.next_attempt_at

    def dispatch(self) -> Dispatch:
        """The attempt in flight, to send."""
        return Dispatch(
            self.id,
            self.attempts,
            self.channel,
            self.destination,
            self.secret_setting,
            dict(self.content),
        )

    class AttemptStarted(Aggregate.Event):
        attempt: int
        started_at: datetime
        lease_until: datetime

        def apply(self, aggregate: Any) -> None:
            aggregate.attempts = self.attempt
            aggregate.in_flight_until = self.lease_until

    class Delivered(Aggregate.Event):
        attempt: int
        delivered_at: datetime
        receipt: str

        def apply(self, aggregate: Any) -> None:
            aggregate.delivered_at = self.delivered_at
            aggregate.in_flight_until = None

    class Failed(Aggregate.Event):
        attempt: int
        failed_at: datetime
        error: str
        next_attempt_at: datetime

        def apply(self, aggregate: Any) -> None:
            aggregate.in_flight_until = None
            aggregate.next_attempt_at = self.next_attempt_at
            aggregate.last_error = self.error

    class GaveUp(Aggregate.Event):
        attempts: int
        gave_up_at: datetime
        last_error: str

        def apply(self, aggregate: Any) -> None:
            aggregate.gave_up_at = self.gave_up_at

    def start_attempt(self, now: datetime, retry: RetryPolicy) -> bool:
        """Record the next attempt, before it is sent; False when none is due (or it gave up).

        An attempt in flight whose lease ran out is first recorded as failed (lost)."""
        if self.in_flight_until is not None and now >= self.in_flight_until:
            self._fail(self.attempts, now, LOST, self.in_flight_until, retry)
        if self.settled or self.in_flight_until is not None or now < self.next_attempt_at:
            return False
        self.trigger_event(
            self.AttemptStarted,
            attempt=self.attempts + 1,
            started_at=now,
            lease_until=now + retry.lease,
        )
        return True

    def record_delivery(self, attempt: int, now: datetime, receipt: str) -> None:
        """The recipient accepted attempt ``attempt``; nothing if already settled."""
        if not self.settled:
            self.trigger_event(self.Delivered, attempt=attempt, delivered_at=now, receipt=receipt)

    def record_failure(self, attempt: int, now: datetime, error: str, retry: RetryPolicy) -> None:
        """Attempt ``attempt`` failed: retry after a backoff, or give up after the last one.
        Nothing if that attempt was already concluded (presumed lost, or settled)."""
        if self.settled or self.in_flight_until is None or attempt != self.attempts:
            return
        self._fail(attempt, now, error, now, retry)

    def _fail(
        self, attempt: int, now: datetime, error: str, since: datetime, retry: RetryPolicy
    ) -> None:
        self.trigger_event(
            self.Failed,
            attempt=attempt,
            failed_at=now,
            error=error[:500],
            next_attempt_at=since + retry.backoff(attempt),
        )
        if attempt >= retry.max_attempts:
            self.trigger_event(
                self.GaveUp, attempts=attempt, gave_up_at=now, last_error=error[:500]
            )
