"""Reading the producers' streams from a position to the head they had when the rebuild
started: ordered (ephemeral, flow-controlled) push consumers, the messages handed on in batches.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, Header, RawStreamMsg
from nats.js.errors import NotFoundError

from services.review.rebuild.store import Message, RebuildError
from shared.bus import nats_servers
from shared.contracts.streams import POSITION_HEADER, PRODUCER_STREAMS

UPSTREAMS = ("intake", "referral", "review")
"""The streams a rebuild reads, in this order; ``review`` brings review's own entries."""
BATCH_MESSAGES = 1000
STALL_SECONDS = 30.0
"""A stream that delivers nothing for this long, short of its head, fails the rebuild."""
HEARTBEAT_SECONDS = 5.0
"""How often an idle consumer says it is there (and whether it stalled on flow control)."""
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


_PLAIN_HEADERS = re.compile(r"(?:[!-9;-~]+:[ -~]*\r\n|\r\n)*")
"""A header block of lines ``Name:value`` only: a name of printable ASCII without spaces or
colons, a value of printable ASCII (spaces at its ends are stripped), each line ended by CRLF;
as relays and nats-py write them."""


def parse_headers(raw: bytes) -> dict[str, str]:
    """A message's header block as nats-py's own parser reads it, key for key and value for
    value (``tests/review/test_rebuild_headers.py`` compares the two over varied blocks), in
    less than half the time: a plain block in one pass, anything else by nats-py's parser.

    Why: nats-py checks every character of every header name in a generator, and a relay's
    message has five headers; parsing them was a third of the reading process's CPU in a
    rebuild (``docs/performance.md``, section 4)."""
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        return Client._parse_header_lines(raw)
    if _PLAIN_HEADERS.fullmatch(text) is None:
        return Client._parse_header_lines(raw)
    headers = {}
    for line in text.split("\r\n"):
        if line:
            name, _, value = line.partition(":")
            headers[name] = value.strip(" ")
    return headers


class ReadingClient(Client):
    """nats-py's client, reading header blocks with :func:`parse_headers`: the one method of
    nats-py's it puts in place of its own, which nats-py calls for every message's headers."""

    _parse_header_lines = staticmethod(parse_headers)


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
        await _read(nc, head, first, deliver)


async def _read(nc: Client, head: StreamHead, first: int, deliver: Deliver) -> None:
    """One stream from ``first`` to its head, through a push consumer of the rebuild's own
    whose flow control holds the server back while the rebuild is behind.

    Why not nats-py's ordered consumer: with a callback, nats-py answers the server's flow
    control as soon as a message arrives, not once it has been handled, so the server sends
    as fast as the connection takes and the messages wait in the subscription's queue (at the
    million, up to 127 MB of its 128 MB limit, past which nats-py drops a message, telling only
    the connection's error callback). Here a flow-control request is answered once every
    message before it has been handed on, so what waits is bounded by the server's window;
    and each batch checks that the consumer delivered no message the rebuild did not get."""
    js = nc.jetstream()
    finished = asyncio.Event()
    failures: list[BaseException] = []
    batch: list[Message] = []
    last_seen = time.monotonic()
    position = 0
    received = 0

    async def on_message(msg: Msg) -> None:
        nonlocal last_seen, position, received
        if finished.is_set():
            return  # the consumer goes on past the head until it is deleted
        last_seen = time.monotonic()
        try:
            if not msg.data and msg.headers and STATUS_HEADER in msg.headers:
                await _answer(nc, head, msg)
                return
            received += 1
            position = position_of(msg)
            if position <= head.last_position:
                batch.append((msg.subject, msg.data, position))
            if len(batch) >= BATCH_MESSAGES or position >= head.last_position:
                _check_none_missed(head, msg, received)
                taken = batch.copy()
                batch.clear()
                await deliver(head.upstream, taken, min(position, head.last_position))
            if position >= head.last_position:
                finished.set()
            last_seen = time.monotonic()
        except BaseException as e:  # nats-py would only log it: the rebuild fails instead
            failures.append(e)
            finished.set()

    subscription = await nc.subscribe(nc.new_inbox(), cb=on_message)
    consumer = ""
    try:
        info = await js.add_consumer(
            head.stream,
            ConsumerConfig(
                deliver_subject=subscription.subject,
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                opt_start_seq=first,
                ack_policy=AckPolicy.NONE,
                flow_control=True,
                idle_heartbeat=HEARTBEAT_SECONDS,
                inactive_threshold=STALL_SECONDS,  # the server's to remove if the rebuild dies
                mem_storage=True,
                num_replicas=1,
            ),
        )
        consumer = info.name
        while not finished.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await finished.wait()
            if not finished.is_set() and time.monotonic() - last_seen > STALL_SECONDS:
                msg = (
                    f"{head.stream} delivered nothing for {STALL_SECONDS:.0f} s "
                    f"after position {position} of {head.last_position}"
                )
                raise RebuildError(msg)
    finally:
        with contextlib.suppress(Exception):
            await subscription.unsubscribe()
        if consumer:
            with contextlib.suppress(Exception):
                await js.delete_consumer(head.stream, consumer)
    if failures:
        raise failures[0]


async def _answer(nc: Client, head: StreamHead, msg: Msg) -> None:
    """A consumer's status message: a flow-control request (answered now, every message
    before it handed on), an idle heartbeat (answered if it says the consumer stalled waiting
    for an answer that was lost), or anything else, which fails the rebuild."""
    headers = msg.headers or {}
    if headers.get(STATUS_HEADER) != "100":
        status = f"{headers.get(STATUS_HEADER)} {headers.get(Header.DESCRIPTION.value, '')}".strip()
        raise RebuildError(f"{head.stream}: its consumer stopped ({status})")
    if msg.reply:
        await nc.publish(msg.reply)
    stalled = headers.get(Header.CONSUMER_STALLED.value)
    if stalled:
        await nc.publish(stalled)


def _check_none_missed(head: StreamHead, msg: Msg, received: int) -> None:
    """The consumer numbers what it delivers from 1: a message it delivered and the rebuild
    did not get (dropped by nats-py, or lost with a connection) fails the rebuild, whose
    ``--resume`` carries on from what was written."""
    delivered = msg.metadata.sequence.consumer
    if delivered != received:
        msg_ = (
            f"{head.stream}: {delivered - received} message(s) delivered before stream "
            f"sequence {msg.metadata.sequence.stream} never reached the rebuild"
        )
        raise RebuildError(msg_)


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
