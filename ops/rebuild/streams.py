"""Reading the producers' streams from a position to the head they had when the rebuild
started: push consumers of the rebuild's own (ephemeral, flow-controlled, started again where
they left off, as ordered consumers are), the messages handed on in batches.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, Header, RawStreamMsg
from nats.js.errors import NotFoundError

from ops.rebuild.nats_headers import ReadingClient
from ops.rebuild.store import Message, RebuildError
from shared.bus import nats_servers
from shared.contracts.streams import POSITION_HEADER, PRODUCER_STREAMS

UPSTREAMS = ("intake", "referral", "review")
"""The streams a rebuild reads, in this order; ``review`` brings review's own entries."""
BATCH_MESSAGES = 1000
STALL_SECONDS = 30.0
"""A stream that delivers nothing for this long, short of its head, fails the rebuild."""
HEARTBEAT_SECONDS = 5.0
"""How often an idle consumer says it is there (and whether it stalled on flow control)."""
SILENT_SECONDS = 3 * HEARTBEAT_SECONDS
"""A consumer that says nothing for this long (three heartbeats missed) is started again."""
RESTARTS = 5
"""Consumers started again in a row, none handing a message on, before the rebuild fails."""
STATUS_HEADER = Header.STATUS.value
"""Where nats-py puts a status message's code (``NATS/1.0 100 FlowControl Request``)."""

Deliver = Callable[[str, list[Message], int], Awaitable[None]]
"""Takes an upstream's next messages, and the position its stream has been read up to."""


async def connect(url: str, name: str) -> Client:
    """A reader's connection: unlike a service's, it gives up if NATS stays away (the rebuild
    then fails, and ``--resume`` carries on), says nothing when it is closed, and reads
    headers faster (:class:`ReadingClient`)."""

    async def quiet(*_: object) -> None:
        return None

    client = ReadingClient()
    await client.connect(
        servers=nats_servers(url),
        name=name,
        max_reconnect_attempts=20,
        reconnect_time_wait=0.5,  # type: ignore[arg-type]  # annotated int; a sleep, in seconds
        error_cb=quiet,
        disconnected_cb=quiet,
        closed_cb=quiet,
    )
    return client


@dataclass(frozen=True)
class StreamHead:
    """A stream as the rebuild found it: it reads up to ``last_seq``, whose relay position
    (the producer's notification id) is ``last_position``."""

    upstream: str
    stream: str
    first_seq: int = 0
    last_seq: int = 0
    last_position: int = 0

    @property
    def messages(self) -> int:
        return self.last_seq - self.first_seq + 1 if self.last_seq else 0


async def stream_heads(js: JetStreamContext) -> list[StreamHead]:
    heads = []
    for upstream in UPSTREAMS:
        name = PRODUCER_STREAMS[upstream].name
        try:
            state = (await js.stream_info(name)).state
        except NotFoundError:
            heads.append(StreamHead(upstream, name))
            continue
        if not state.messages:
            heads.append(StreamHead(upstream, name))
            continue
        last = await _position_at(js, name, state.last_seq)
        heads.append(StreamHead(upstream, name, state.first_seq, state.last_seq, last))
    return heads


def review_head(heads: Sequence[StreamHead]) -> int:
    """The position of the REVIEW stream's last message the rebuild read."""
    return next((h.last_position for h in heads if h.upstream == "review"), 0)


async def _position_at(js: JetStreamContext, stream: str, seq: int) -> int:
    return position_of(await js.get_msg(stream, seq))


def position_of(msg: Msg | RawStreamMsg) -> int:
    try:
        return int((msg.headers or {})[POSITION_HEADER])
    except (KeyError, ValueError):
        msg_ = f"{msg.subject} has no {POSITION_HEADER}: it did not come from a relay"
        raise RebuildError(msg_) from None


async def first_seq_after(js: JetStreamContext, head: StreamHead, position: int) -> int:
    """The first stream sequence whose position is past ``position``: a relay's stream is in
    position order, so a binary search finds it in a few reads."""
    low, high = head.first_seq, head.last_seq
    while position and low < high:
        middle = (low + high) // 2
        if await _position_at(js, head.stream, middle) <= position:
            low = middle + 1
        else:
            high = middle
    return low


async def read_streams(
    nc: Client,
    heads: Sequence[StreamHead],
    after: Mapping[str, int],
    deliver: Deliver,
    skipped: Callable[[int], None],
) -> None:
    """Hand every message past ``after[upstream]`` up to each head to ``deliver``, in stream
    order, a batch at a time; ``skipped`` is told how many messages needed no reading."""
    js = nc.jetstream()
    for head in heads:
        start = after.get(head.upstream, 0)
        if head.last_position <= start:
            skipped(head.messages)
            continue
        first = await first_seq_after(js, head, start)
        skipped(first - head.first_seq)
        await _Reading(nc, head, first, deliver).run()


class _Reading:
    """One stream from ``first`` to its head, through a push consumer of the rebuild's own
    whose flow control holds the server back while the rebuild is behind.

    Why not nats-py's ordered consumer: with a callback, nats-py answers the server's flow
    control as soon as a message arrives, not once it has been handled, so the server sends
    as fast as the connection takes and the messages wait in the subscription's queue (at the
    million, up to 127 MB of its 128 MB limit, past which nats-py drops a message, telling only
    the connection's error callback). Here a flow-control request is answered once every
    message before it has been handed on, so what waits is bounded by the server's window.

    Like an ordered consumer, it starts again, from the message after the last it handed on,
    with a consumer of its own, when the one it has goes silent (no message nor heartbeat), says
    it stopped, delivered a message this reader never got, or when the connection came back
    (a restarted server keeps the stream but not the consumer); ``RESTARTS`` times in a row
    without handing anything on, or ``STALL_SECONDS`` without (a consumer that cannot be made
    is tried again each second meanwhile), fails the rebuild."""

    def __init__(self, nc: Client, head: StreamHead, first: int, deliver: Deliver) -> None:
        self.nc = nc
        self.js = nc.jetstream()
        self.head = head
        self.deliver = deliver
        self.next_seq = first
        """The stream sequence to start again from: after the last message handed on."""
        self.generation = 0
        self.subscription: Subscription | None = None
        self.consumer = ""
        self.batch: list[Message] = []
        self.received = 0
        self.position = 0
        self.delivering = False
        self.heard = self.progressed = time.monotonic()
        self.restarts = 0
        self.reconnections = _reconnections(nc)
        self.why_again = ""
        self.counted = True
        self.again = asyncio.Event()
        self.finished = asyncio.Event()
        self.failures: list[BaseException] = []

    async def run(self) -> None:
        try:
            await self._start()
            while not self.finished.is_set():
                await self._wake()
                if self.finished.is_set():
                    break
                now = time.monotonic()
                if _reconnections(self.nc) != self.reconnections:
                    self._start_again("the connection to NATS was lost and came back")
                elif now - self.heard > SILENT_SECONDS and not self.delivering:
                    self._start_again(f"its consumer said nothing for {SILENT_SECONDS:.0f} s")
                if self.delivering:
                    continue  # the consumer's task is handing a batch on: never cut it off
                if now - self.progressed > STALL_SECONDS:
                    msg = (
                        f"{self.head.stream} delivered nothing for {STALL_SECONDS:.0f} s "
                        f"after position {self.position} of {self.head.last_position}"
                    )
                    raise RebuildError(f"{msg} ({self.why_again})" if self.why_again else msg)
                if self.again.is_set():
                    await self._start()
        finally:
            await self._stop()
        if self.failures:
            raise self.failures[0]

    async def _wake(self) -> None:
        """Until the stream is read to its head, a consumer is to be started again (unless one
        already is, and waits for a batch being handed on), or a second has passed."""
        events = [self.finished] if self.again.is_set() else [self.finished, self.again]
        waiting = [asyncio.ensure_future(event.wait()) for event in events]
        try:
            await asyncio.wait(waiting, timeout=1.0, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiting:
                waiter.cancel()

    def _start_again(self, why: str, *, counted: bool = True) -> None:
        self.why_again = why
        self.counted = counted
        self.again.set()

    async def _start(self) -> None:
        if self.again.is_set() and self.counted:
            self.restarts += 1
            if self.restarts > RESTARTS:
                msg = f"{self.head.stream}: {self.why_again}, {RESTARTS} times in a row"
                raise RebuildError(msg)
        await self._stop()
        self.generation += 1
        generation = self.generation
        self.batch.clear()
        self.received = 0
        self.reconnections = _reconnections(self.nc)
        self.heard = time.monotonic()
        self.again.clear()

        async def on_message(msg: Msg) -> None:
            if generation == self.generation:
                await self._on_message(msg)

        try:
            self.subscription = await self.nc.subscribe(self.nc.new_inbox(), cb=on_message)
            info = await self.js.add_consumer(
                self.head.stream,
                ConsumerConfig(
                    deliver_subject=self.subscription.subject,
                    deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                    opt_start_seq=self.next_seq,
                    ack_policy=AckPolicy.NONE,
                    flow_control=True,
                    idle_heartbeat=HEARTBEAT_SECONDS,
                    inactive_threshold=STALL_SECONDS,  # the server's to remove if we die
                    mem_storage=True,
                    num_replicas=1,
                ),
            )
        except NatsError as e:  # a server still starting, say: tried again each second
            why = f"its consumer could not be made ({type(e).__name__}: {e})"
            self._start_again(why, counted=False)
            return
        self.consumer = info.name

    async def _stop(self) -> None:
        """Stop taking the current consumer's messages, and delete it (gone already, if the
        server restarted)."""
        subscription, consumer = self.subscription, self.consumer
        self.subscription, self.consumer = None, ""
        if subscription is not None:
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()
        if consumer:
            with contextlib.suppress(Exception):
                await self.js.delete_consumer(self.head.stream, consumer)

    async def _on_message(self, msg: Msg) -> None:
        if self.finished.is_set() or self.again.is_set():
            return  # past the head (the consumer goes on until deleted), or starting again
        self.heard = time.monotonic()
        try:
            if not msg.data and msg.headers and STATUS_HEADER in msg.headers:
                await self._answer(msg)
                return
            self.received += 1
            head = self.head
            self.position = position = position_of(msg)
            if position <= head.last_position:
                self.batch.append((msg.subject, msg.data, position))
            if len(self.batch) >= BATCH_MESSAGES or position >= head.last_position:
                sequence = msg.metadata.sequence
                if sequence.consumer != self.received:
                    # Dropped by nats-py, or lost with a connection: none of this batch is
                    # handed on, and the next consumer starts from its first message.
                    lost = sequence.consumer - self.received
                    self._start_again(f"{lost} message(s) delivered never reached the rebuild")
                    return
                taken = self.batch.copy()
                self.batch.clear()
                self.delivering = True
                try:
                    await self.deliver(head.upstream, taken, min(position, head.last_position))
                finally:
                    self.delivering = False
                self.next_seq = sequence.stream + 1
                self.heard = self.progressed = time.monotonic()
                self.restarts = 0
            if position >= head.last_position:
                self.finished.set()
        except BaseException as e:  # nats-py would only log it: the rebuild fails instead
            self.failures.append(e)
            self.finished.set()

    async def _answer(self, msg: Msg) -> None:
        """A consumer's status message: a flow-control request (answered now, every message
        before it handed on), an idle heartbeat (the consumer started again if it delivered a
        message not received; answered if it says the consumer stalled waiting for an answer
        that was lost), or anything else: the consumer is started again."""
        headers = msg.headers or {}
        if headers.get(STATUS_HEADER) != "100":
            status = f"{headers.get(STATUS_HEADER)} {headers.get(Header.DESCRIPTION.value, '')}"
            self._start_again(f"its consumer stopped ({status.strip()})")
            return
        if msg.reply:
            await self.nc.publish(msg.reply)
            return
        # An idle heartbeat numbers the last message the consumer delivered: any not received
        # (the last of the stream, say, which no later batch would have found missing)?
        delivered = headers.get(Header.LAST_CONSUMER.value)
        if delivered is not None and delivered.isdigit() and int(delivered) > self.received:
            lost = int(delivered) - self.received
            self._start_again(f"{lost} message(s) delivered never reached the rebuild")
            return
        stalled = headers.get(Header.CONSUMER_STALLED.value)
        if stalled:
            await self.nc.publish(stalled)


def _reconnections(nc: Client) -> int:
    return nc.stats["reconnects"]


_CASE_ID_AT = b'{"case_id":"'
"""How a relay's message about a case starts: ``model_dump_json`` writes the fields in their
declared order, and ``case_id`` is a case contract's first."""


def peek_case(data: bytes) -> int | None:
    """A message's case id as a number, without decoding it (None: decode it to know).

    Every share peeks at every message: the 32 hex digits are read as ``UUID`` reads them
    (``int(digits, 16)``), without making a ``UUID`` (a third of the time)."""
    if not data.startswith(_CASE_ID_AT):
        return None
    digits = data[12:48].replace(b"-", b"")
    if len(digits) != 32:
        return None
    try:
        return int(digits, 16)
    except ValueError:
        return None
