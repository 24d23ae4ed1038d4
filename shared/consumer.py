"""Exactly-once consumption of an upstream service's stream.

For each message, in stream order:

1. its position is compared with the upstream position this service has recorded: at or below it,
   the message is a redelivery or a duplicate and is acked with no effect;
2. its ``Safeguard-Previous-Position`` must be the recorded position: otherwise a message before
   it is missing, and it is held (nak'd) and reported rather than applied over the gap;
3. the contract is applied with ``EventSourcedProjection.process_event``: the new events and the
   upstream position are written in one transaction;
4. only after that commit is the message acked. A crash before the ack means a redelivery, which
   step 1 turns into a no-op.

A failure is nak'd with exponential backoff. A message that fails ``max_attempts`` times is copied
to a dead-letter subject, recorded in the service's own store as a :class:`DeadLetter` (with its
position, exactly once) and acked, so the stream goes on instead of stopping forever, and nothing
vanishes: the dead letter is logged at ERROR, listed on ``/readyz`` and kept in both places.

The consumer is a durable pull consumer read with nats-py, one message at a time, in a loop the
service's :class:`~shared.supervisor.Supervisor` runs: the loop is ours, so that a failure in it
is seen, logged and restarted, and its lag (messages waiting, seconds without progress) is known.
faststream's pull loop, used here before, ended silently on any error it did not expect, and
needed a second connection beside the relay's; nats-py alone is the one way this product talks
to NATS.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Any, TypeVar

from eventsourcing.persistence import IntegrityError, Tracking
from eventsourcing.utils import retry
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from pydantic import ValidationError

from shared.application import DeadLetterNotice, ServiceApplication
from shared.contracts import decode
from shared.contracts.streams import (
    DEAD_LETTER_CONSUMER_HEADER,
    DEAD_LETTER_ERROR_HEADER,
    POSITION_HEADER,
    PREVIOUS_HEADER,
    PRODUCER_STREAMS,
    dead_letter_subject,
)
from shared.supervisor import Work

log = logging.getLogger(__name__)

T = TypeVar("T")

STORE_RETRY_SECONDS = 1.0
"""How soon a message the store refused (full, read-only) is tried again, however often."""

OWN_WRITE_COLLISIONS = 5
"""Times a message is applied at once when a write over HTTP took its case's next version
first, before the collision counts as a failed attempt."""
FETCH_SECONDS = 2.0
"""How long one fetch waits for a message: when none comes, the consumer asks the broker what
is still pending, so that /readyz knows whether anything waits."""


class Outcome(Enum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    EARLY = "early"


@dataclass
class ConsumerStatus:
    """What /readyz reports about one upstream."""

    position: int = 0
    applied: int = 0
    duplicates: int = 0
    failures: int = 0
    dead_letters: int = 0
    last_error: str = ""
    dead_lettered: list[str] = field(default_factory=list)


class MalformedMessageError(ValueError):
    """A message without the relay's position headers."""


class ExactlyOnceConsumer:
    """Applies one upstream's stream to ``app`` exactly once and in order."""

    def __init__(
        self,
        app: ServiceApplication,
        service: str,
        upstream: str,
        *,
        max_attempts: int = 8,
        backoff_seconds: float = 0.5,
        max_backoff_seconds: float = 30.0,
        executor: Executor | None = None,
    ) -> None:
        self.app = app
        self.service = service
        self.upstream = upstream
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.executor = executor  # see OutboxRelay.executor
        self.status = ConsumerStatus()
        self.js: JetStreamContext | None = None

    @property
    def durable_name(self) -> str:
        return f"{self.service}-from-{self.upstream}"

    def config(self, *, ack_wait_seconds: float = 30.0) -> ConsumerConfig:
        """A durable consumer of the upstream's whole stream, one unacked message at a time
        (order), redelivered until it is acked, dead-lettered by this consumer itself."""
        return ConsumerConfig(
            durable_name=self.durable_name,
            filter_subject=f"{self.upstream}.>",
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=ack_wait_seconds,
            max_ack_pending=1,
            max_deliver=-1,
        )

    async def run(
        self, js: JetStreamContext, work: Work, *, ack_wait_seconds: float = 30.0
    ) -> None:
        """Apply the upstream's messages until cancelled; ``work`` says what is waiting.

        A NATS error (the server restarting, the connection coming back) is noted in ``work``
        and the subscription made again after a pause; anything else ends the loop, for the
        supervisor to log and start it again.
        """
        self.js = js
        stream = PRODUCER_STREAMS[self.upstream].name
        pause = self.backoff_seconds
        while True:
            try:
                subscription = await js.pull_subscribe(
                    f"{self.upstream}.>",
                    durable=self.durable_name,
                    stream=stream,
                    config=self.config(ack_wait_seconds=ack_wait_seconds),
                )
                try:
                    while True:
                        await self._next(subscription, work)
                        pause = self.backoff_seconds
                finally:
                    with contextlib.suppress(Exception):
                        await subscription.unsubscribe()
            except (NatsError, TimeoutError) as e:
                reason = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
                # What waits is unknown while the stream cannot be read: the stall clock runs.
                work.failed(f"cannot read {stream}: {reason}", None)
                log.warning(
                    "%s: cannot read %s (%s); again in %.1f s",
                    self.durable_name,
                    stream,
                    reason,
                    pause,
                )
                await asyncio.sleep(pause)
                pause = min(pause * 2, 5.0)

    async def _next(self, subscription: JetStreamContext.PullSubscription, work: Work) -> None:
        """Fetch and apply one message; when none comes, ask what is still pending."""
        try:
            messages = await subscription.fetch(1, timeout=FETCH_SECONDS)
        except TimeoutError:
            info = await subscription.consumer_info()
            # A message nak'd with a delay is neither pending nor fetched: it still waits.
            waiting = (info.num_pending or 0) + (info.num_ack_pending or 0)
            if waiting == 0:
                work.moved(0)
            else:
                work.stuck(waiting)
            return
        for msg in messages:
            if await self.handle(msg):
                work.moved(msg.metadata.num_pending)
            else:
                work.failed(self.status.last_error, msg.metadata.num_pending + 1)

    async def handle(self, msg: Msg) -> bool:
        """Apply one message and settle it with the broker: whether the stream moved on (the
        message applied, a duplicate, or set aside as a dead letter)."""
        try:
            position, previous = _positions(msg)
            outcome = await self._in_thread(self.apply, msg.subject, msg.data, position, previous)
        except Exception as e:
            # Every failure is nak'd for a retry or dead-lettered: none is dropped.
            return await self._failed(msg, e)
        if outcome is Outcome.EARLY:
            # The relay's Nats-Expected-Last-Msg-Id keeps streams gap-free, so this means a
            # message reached the stream some other way. Hold it and say so loudly: applying
            # it would skip its predecessor forever.
            self.status.last_error = (
                f"{msg.subject} at position {position} follows {previous}, "
                f"which has not been applied; holding it"
            )
            log.error("%s: %s", self.durable_name, self.status.last_error)
            await msg.nak(delay=self.max_backoff_seconds)
            return False
        await msg.ack()
        if outcome is Outcome.APPLIED:
            self.status.applied += 1
        else:
            self.status.duplicates += 1
        self.status.position = max(self.status.position, position)
        return True

    async def _in_thread(self, func: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.executor, func, *args)

    def apply(self, subject: str, data: bytes, position: int, previous: int) -> Outcome:
        """The exactly-once step: runs in a worker thread, one message at a time."""
        with self.app.processing_lock:
            recorded = self.app.recorder.max_tracking_id(self.upstream) or 0
            if position <= recorded:
                return Outcome.DUPLICATE
            if previous != recorded:
                return Outcome.EARLY
            outcome: Outcome = self._apply_at(decode(subject, data), position)
            return outcome

    # A person's write to the same case (over HTTP, not under the processing lock) may take the
    # case's next version first: the message is applied again to the case as it now is, rather
    # than the collision counting as the message's failure.
    @retry(IntegrityError, max_attempts=OWN_WRITE_COLLISIONS)
    def _apply_at(self, contract: object, position: int) -> Outcome:
        try:
            self.app.apply_upstream(contract, Tracking(self.upstream, position))
        except IntegrityError:
            # Another instance of this service applied it first: same as a duplicate.
            if (self.app.recorder.max_tracking_id(self.upstream) or 0) >= position:
                return Outcome.DUPLICATE
            raise
        return Outcome.APPLIED

    async def _failed(self, msg: Msg, error: Exception) -> bool:
        attempts = msg.metadata.num_delivered or 1
        reason = _reason(error)
        self.status.failures += 1
        self.status.last_error = reason
        if self.app.store_writes.refused(error):
            # Not the message's fault, and it ends by itself: never a dead letter for it.
            log.warning("%s: %s waits for the store: %s", self.durable_name, msg.subject, reason)
            await msg.nak(delay=min(STORE_RETRY_SECONDS, self.max_backoff_seconds))
            return False
        if attempts < self.max_attempts:
            delay = min(self.backoff_seconds * 2 ** (attempts - 1), self.max_backoff_seconds)
            log.warning(
                "%s: %s failed (attempt %d of %d), retrying in %.1fs: %s",
                self.durable_name,
                msg.subject,
                attempts,
                self.max_attempts,
                delay,
                reason,
            )
            await msg.nak(delay=delay)
            return False
        try:
            await self._dead_letter(msg, reason, attempts)
        except Exception as e:
            # Cannot set it aside now (store or NATS down): keep it and try again later.
            log.warning("%s: could not dead-letter %s: %s", self.durable_name, msg.subject, e)
            await msg.nak(delay=self.max_backoff_seconds)
            return False
        return True

    async def _dead_letter(self, msg: Msg, reason: str, attempts: int) -> None:
        try:
            position: int | None = _positions(msg)[0]
        except MalformedMessageError:
            position = None  # not from a relay: it has no place in the upstream order
        assert self.js is not None, "the consumer's JetStream context is set at start"
        # The original's expectations (its stream, its predecessor) are about the upstream
        # stream: kept, the broker would refuse the copy, and nothing could ever be set aside.
        headers = {
            k: v for k, v in (msg.headers or {}).items() if not k.startswith("Nats-Expected-")
        }
        meta = msg.metadata.sequence
        headers["Nats-Msg-Id"] = f"{self.durable_name}:{meta.stream}"
        headers[DEAD_LETTER_ERROR_HEADER] = reason[:1000]
        headers[DEAD_LETTER_CONSUMER_HEADER] = self.durable_name
        await self.js.publish(
            dead_letter_subject(self.service, msg.subject), msg.data, headers=headers
        )
        if position is not None:
            notice = DeadLetterNotice(
                upstream=self.upstream,
                position=position,
                subject=msg.subject,
                error=reason,
                attempts=attempts,
                at=datetime.now(UTC),
                case_id=_case_id(msg.data),
            )
            await self._in_thread(self._record_dead_letter, notice)
            self.status.position = max(self.status.position, position)
        await msg.ack()
        self.status.dead_letters += 1
        self.status.dead_lettered.append(f"{msg.subject}@{position or meta.stream}")
        log.error(
            "%s: %s at position %s failed %d times and was dead-lettered: %s",
            self.durable_name,
            msg.subject,
            position,
            attempts,
            reason,
        )

    def _record_dead_letter(self, notice: DeadLetterNotice) -> None:
        with self.app.processing_lock:
            if (self.app.recorder.max_tracking_id(self.upstream) or 0) >= notice.position:
                return
            self.app.apply_upstream(notice, Tracking(self.upstream, notice.position))


def _reason(error: Exception) -> str:
    """Why a message failed, for the log, /readyz and the dead letter. For a message its
    contract refuses: each field and what it expects, never the value, which may be personal
    data (pydantic's own message repeats it)."""
    if isinstance(error, ValidationError):
        fields = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'message'}: {e['msg']}"
            for e in error.errors(include_input=False, include_url=False)
        )
        return f"ValidationError: {error.title}: {fields}"
    return f"{type(error).__name__}: {error}"


def _positions(msg: Msg) -> tuple[int, int]:
    headers = msg.headers or {}
    try:
        position = int(headers[POSITION_HEADER])
        previous = int(headers.get(PREVIOUS_HEADER) or 0)
    except (KeyError, ValueError):
        raise MalformedMessageError(f"{msg.subject} lacks valid position headers") from None
    return position, previous


def _case_id(data: bytes) -> str:
    """The case a message is about, if its body says (a dead letter may not even be JSON)."""
    try:
        body = json.loads(data)
    except ValueError:
        return ""
    case_id = body.get("case_id") if isinstance(body, dict) else None
    return str(case_id) if isinstance(case_id, str) else ""
