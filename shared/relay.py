"""The outbox relay: a service's stored events, published in order to its JetStream stream.

The service's own notification log is the outbox, so nothing is published that was not stored.
Each message carries ``Nats-Msg-Id = <service>:<notification id>`` and
``Nats-Expected-Last-Msg-Id`` naming the message before it, so the broker

* drops a re-publish after a crash (message-id dedupe), and
* refuses a message whose predecessor is not the stream's last one, so the stream can never
  hold a hole or an out-of-order event, even when a pipelined batch fails half way.

Because the stream is gap-free, its last message *is* the relay's durable position: on every
start and after every failure the relay reads it back from the broker, so no event stays
unpublished and none is published twice, however long the relay was down. The position is also
recorded in the service's tracking table (under :data:`RELAY_TRACKING_NAME`) for health reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from eventsourcing.persistence import IntegrityError, Notification, PersistenceError, Tracking
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import PubAck
from nats.js.errors import NotFoundError
from pydantic import ValidationError

from shared.application import ServiceApplication
from shared.contracts import Contract
from shared.contracts.streams import (
    POSITION_HEADER,
    PREVIOUS_HEADER,
    PRODUCER_STREAMS,
    message_id,
)
from shared.publishing import ToContract
from shared.supervisor import Work

log = logging.getLogger(__name__)

RELAY_TRACKING_NAME = "outbox-relay"
MAX_BATCHES_IN_FLIGHT = 2
RECORD_EVERY_SECONDS = 1.0
"""The position is noted in the store at most this often: a commit per published event would
double the store's writes under a trickle."""

T = TypeVar("T")


@dataclass
class RelayStatus:
    """What /readyz reports about the relay."""

    published_position: int = 0
    last_error: str = ""
    halted: bool = False
    """The relay refuses to go on until an operator acts (see :class:`RelayHaltedError`)."""

    @property
    def mismatched(self) -> bool:
        return self.halted


class RelayHaltedError(RuntimeError):
    """Publishing cannot go on without skipping or misplacing an event: the relay stops,
    says why, and checks again later (after an operator's fix or a corrected release)."""


class UnpublishableEventError(RelayHaltedError):
    """A stored event that does not fit its contract. It cannot be skipped (the stream would
    have a hole), so nothing after it is published until a release maps it."""


@dataclass
class Batch:
    """Messages sent to the broker whose acks are not yet in."""

    futures: list[asyncio.Future[PubAck]]
    last: int
    """The position of the batch's last published event."""

    def cancel(self) -> None:
        for future in self.futures:
            future.cancel()


class StoreStreamMismatchError(RelayHaltedError):
    """The stream holds positions the store's log does not reach: they are not the same
    history (a store restored from an old backup, or pointed at another deployment's NATS)."""


class OutboxRelay:
    """Publishes ``app``'s notification log to the producer's stream, in order, exactly once."""

    def __init__(
        self,
        app: ServiceApplication,
        producer: str,
        js: JetStreamContext,
        to_contract: ToContract,
        *,
        batch_size: int = 256,
        poll_seconds: float = 1.0,
        ack_timeout: float = 5.0,
        executor: Executor | None = None,
        topics: Sequence[str] = (),
        halted_recheck_seconds: float = 30.0,
    ) -> None:
        self.app = app
        self.halted_recheck_seconds = halted_recheck_seconds
        self.producer = producer
        self.stream = PRODUCER_STREAMS[producer]
        self.js = js
        self.to_contract = to_contract
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.ack_timeout = ack_timeout
        # Store calls run here, so that whoever stops the relay can wait for the last one to
        # finish before closing the store under it.
        self.executor = executor
        # The topics of the events that are published: private ones are not even read.
        self.topics = tuple(topics)
        self._recorded = 0
        self._recorded_at = 0.0
        self.status = RelayStatus()
        self._wakeup = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        # The highest notification id read and found private, past the published position:
        # lets the relay skip private events without publishing anything for them.
        self._scanned = 0
        app.add_listener(self.wake)

    def wake(self) -> None:
        """Thread-safe: a commit happened; publish without waiting for the next poll."""
        # After the service's loop has closed (a request finishing during shutdown), the next
        # start's relay picks the event up: the commit must not fail for want of a wake-up.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._wakeup.set)

    async def stream_position(self) -> int:
        """The position of the last message in the stream: 0 when it is empty."""
        try:
            info = await self.js.stream_info(self.stream.name)
        except NotFoundError:
            return 0
        if info.state.messages == 0:
            return 0
        last = await self.js.get_msg(self.stream.name, info.state.last_seq)
        return int((last.headers or {})[POSITION_HEADER])

    async def run(self, work: Work | None = None) -> None:
        """Publish forever; every failure is logged, backed off and retried from the broker's
        own record of what it holds. ``work`` says what waits and when it last moved.

        Two batches may be in flight: the next is read and sent while the broker acknowledges
        the one before. Order still holds, because each message names its predecessor: if a
        batch fails, every message sent after it is refused too, and the relay starts again
        from the stream's last message.
        """
        work = work or Work()
        backoff = 0.2
        position: int | None = None
        in_flight: deque[Batch] = deque()
        while True:
            try:
                if position is None:
                    position = await self._resume()
                sent = in_flight[-1].last if in_flight else position
                # Cleared before looking, so a commit from now on wakes the wait below.
                self._wakeup.clear()
                batch = await self._send_batch(sent)
                if batch is not None:
                    in_flight.append(batch)
                    work.stuck(sum(len(b.futures) for b in in_flight))
                if in_flight and (batch is None or len(in_flight) >= MAX_BATCHES_IN_FLIGHT):
                    position = await self._settle(in_flight.popleft())
                    work.moved(sum(len(b.futures) for b in in_flight))
                    backoff = 0.2
                if batch is not None or in_flight:
                    continue
                work.moved(0)
                if (
                    position > self._recorded
                    and time.monotonic() - self._recorded_at >= RECORD_EVERY_SECONDS
                ):
                    await self._in_thread(self._record_position, position)
            except asyncio.CancelledError:
                for pending in in_flight:
                    pending.cancel()
                raise
            except RelayHaltedError as e:
                # Publishing would pass over events (the store's own, or one that does not fit
                # its contract): refuse, say so, and check again later.
                for pending in in_flight:
                    pending.cancel()
                in_flight.clear()
                self.status.last_error = str(e)
                self.status.halted = True
                work.failed(str(e), await self._waiting())
                log.error("%s relay: %s", self.producer, e)
                position = None
                await asyncio.sleep(self.halted_recheck_seconds)
                continue
            except (NatsError, TimeoutError, OSError, PersistenceError) as e:
                # The store refusing (full, read-only: noting the position fails) passes like
                # NATS going away; any other store error is a bug, for the supervisor.
                if isinstance(e, PersistenceError) and not self.app.store_writes.refused(e):
                    raise
                self.status.last_error = f"{type(e).__name__}: {e}"
                work.failed(self.status.last_error, await self._waiting())
                log.warning("%s relay: %s; retrying in %.1fs", self.producer, e, backoff)
                for pending in in_flight:
                    pending.cancel()
                in_flight.clear()
                position = None
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that
            # arrives as the wait completes, and then stopping the service hangs.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_seconds):
                    await self._wakeup.wait()

    async def _waiting(self) -> int | None:
        """How many stored events wait to be published (up to 10,000; None if the store
        cannot say)."""
        try:
            waiting = await self._in_thread(
                self.app.recorder.select_notifications,
                start=self.status.published_position,
                limit=10_000,
                topics=self.topics,
                inclusive_of_start=False,
            )
        except Exception:
            return None  # the store is down too: /readyz says so on its own
        return len(waiting)

    async def _resume(self) -> int:
        """Where to carry on from: the stream's last message, checked against the store."""
        position = await self.stream_position()
        await self._in_thread(self._check_store_reaches, position)
        self._scanned = position
        self.status.published_position = position
        self.status.halted = False
        self.status.last_error = ""
        return position

    async def publish_once(self, position: int) -> int | None:
        """Publish the next batch after ``position`` and wait for the broker to store it; the
        new position, or None if there was nothing to publish."""
        batch = await self._send_batch(position)
        if batch is None:
            return None
        return await self._settle(batch)

    async def _send_batch(self, position: int) -> Batch | None:
        """Send the events after ``position`` without waiting for their acks."""
        notifications: list[Notification] = list(
            await self._in_thread(
                self.app.recorder.select_notifications,
                start=max(position, self._scanned),
                limit=self.batch_size,
                topics=self.topics,
                inclusive_of_start=False,
            )
        )
        if not notifications:
            return None
        previous = position
        futures: list[asyncio.Future[PubAck]] = []
        for notification in notifications:
            contract = self._contract_of(notification)
            self._scanned = notification.id
            if contract is None:
                continue
            headers = {
                "Nats-Msg-Id": message_id(self.producer, notification.id),
                POSITION_HEADER: str(notification.id),
                PREVIOUS_HEADER: str(previous) if previous else "",
            }
            if previous:
                headers["Nats-Expected-Last-Msg-Id"] = message_id(self.producer, previous)
            futures.append(
                await self.js.publish_async(
                    contract.subject,
                    contract.model_dump_json().encode(),
                    headers=headers,
                    stream=self.stream.name,
                )
            )
            previous = notification.id
        return Batch(futures, previous)

    def _contract_of(self, notification: Notification) -> Contract | None:
        try:
            return self.to_contract(self.app.mapper.to_domain_event(notification))
        except ValidationError as e:
            # Name the fields, never their values: they may be personal data.
            fields = ", ".join(
                ".".join(map(str, err["loc"])) + f" ({err['type']})" for err in e.errors()
            )
            msg = (
                f"stored event {notification.id} ({notification.topic}) does not fit its "
                f"contract: {fields}; nothing after it is published until a release maps it"
            )
            raise UnpublishableEventError(msg) from None

    async def _settle(self, batch: Batch) -> int:
        """Wait until the broker has stored ``batch``; its last position."""
        if batch.futures:
            try:
                async with asyncio.timeout(self.ack_timeout):
                    await asyncio.gather(*batch.futures)
            except BaseException:
                batch.cancel()
                raise
            if time.monotonic() - self._recorded_at >= RECORD_EVERY_SECONDS:
                await self._in_thread(self._record_position, batch.last)
        self.status.published_position = batch.last
        self.status.last_error = ""
        return batch.last

    async def _in_thread(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, partial(func, *args, **kwargs))

    def _check_store_reaches(self, stream_position: int) -> None:
        head = self.app.recorder.max_notification_id() or 0
        if stream_position > head:
            msg = (
                f"stream {self.stream.name} holds position {stream_position} but this store's "
                f"log ends at {head}: they are not the same history; publishing nothing"
            )
            raise StoreStreamMismatchError(msg)

    def _record_position(self, position: int) -> None:
        """Note the published position in the store, for health reports (the stream itself is
        the relay's durable position)."""
        self._recorded_at = time.monotonic()
        if position <= self._recorded:
            return
        # The store keeps one row per name and refuses a position it already holds: a relay
        # resumed at the position the one before it noted must not note it again.
        held = self.app.recorder.max_tracking_id(RELAY_TRACKING_NAME) or 0
        if position > held:
            try:
                self.app.recorder.insert_tracking(Tracking(RELAY_TRACKING_NAME, position))
            except IntegrityError:
                # Another instance of this service noted it (or a later one) first.
                held = self.app.recorder.max_tracking_id(RELAY_TRACKING_NAME) or 0
                if held < position:
                    raise
        self._recorded = max(position, held)
