"""How the rebuild reads a stream: every message, in order, with no more waiting in the reading
process than the server's flow control lets through, and never a message lost in silence."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from ops.rebuild import streams
from ops.rebuild.store import Message, RebuildError
from ops.rebuild.streams import (
    ReadingClient,
    StreamHead,
    connect,
    read_streams,
    stream_heads,
)
from shared.bus import ensure_streams
from shared.contracts.streams import POSITION_HEADER, PRODUCER_STREAMS
from shared.embedded_nats import EmbeddedNats
from shared.settings import Settings

pytestmark = pytest.mark.nats

MESSAGES = 1000
SIZE = 100_000
"""100 MB on INTAKE: several times what the server lets wait unanswered on flow control
(its window doubles from 2 MB as its requests are answered; at most about 20 MB was seen)."""


@pytest.fixture
async def reader(nats_server: EmbeddedNats, tmp_path: Path) -> AsyncIterator[Client]:
    nc = await connect(nats_server.url, "test-reading")
    js = nc.jetstream()
    await ensure_streams(js, Settings(var_dir=tmp_path / "var", nats_url=nats_server.url))
    stream = PRODUCER_STREAMS["intake"].name
    pending = []
    for n in range(1, MESSAGES + 1):
        headers = {POSITION_HEADER: str(2 * n)}
        data = n.to_bytes(4, "big") * (SIZE // 4)
        pending.append(
            await js.publish_async("intake.test.v1", data, headers=headers, stream=stream)
        )
        if len(pending) >= 500:
            await asyncio.gather(*pending)
            pending = []
    await asyncio.gather(*pending)
    yield nc
    await nc.close()


async def _intake(nc: Client) -> list[StreamHead]:
    return [h for h in await stream_heads(nc.jetstream()) if h.upstream == "intake"]


async def _consumers(nc: Client) -> int:
    info = await nc.jetstream().stream_info(PRODUCER_STREAMS["intake"].name)
    return info.state.consumer_count


async def test_a_slow_rebuild_holds_the_server_back_and_gets_every_message(
    reader: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    subscriptions: list[Subscription] = []
    subscribe = ReadingClient.subscribe

    async def watched(self: Client, *args: Any, **kwargs: Any) -> Subscription:
        subscription = await subscribe(self, *args, **kwargs)
        subscriptions.append(subscription)
        return subscription

    monkeypatch.setattr(ReadingClient, "subscribe", watched)
    monkeypatch.setattr(streams, "BATCH_MESSAGES", 10)
    got: list[Message] = []
    waiting: list[int] = []

    async def deliver(upstream: str, messages: list[Message], read_to: int) -> None:
        waiting.append(max(s.pending_bytes for s in subscriptions))
        got.extend(messages)
        await asyncio.sleep(0.02)  # applying is slower than reading

    await read_streams(reader, await _intake(reader), {}, deliver, lambda _: None)

    assert [position for _, _, position in got] == [2 * n for n in range(1, MESSAGES + 1)]
    assert all(
        data == (n + 1).to_bytes(4, "big") * (SIZE // 4) for n, (_, data, _) in enumerate(got)
    )
    # nats-py's ordered consumer answered flow control on arrival: 89 MB waited here.
    assert max(waiting) < MESSAGES * SIZE / 2
    assert await _consumers(reader) == 0  # the rebuild's own is gone with it


def _dropping(monkeypatch: pytest.MonkeyPatch, drop: Callable[[int], bool]) -> None:
    """nats-py drops the intake messages ``drop`` picks (counted from 1 as they arrive), as it
    drops one it has no room for: before any callback sees it."""
    build = ReadingClient._build_message
    seen = 0

    def dropping(self: Client, sid: int, subject: bytes, *args: Any) -> Msg | None:
        nonlocal seen
        if subject.startswith(b"intake."):
            seen += 1
            if drop(seen):
                return None
        return build(self, sid, subject, *args)  # type: ignore[no-any-return]

    monkeypatch.setattr(ReadingClient, "_build_message", dropping)


async def _read_all(nc: Client) -> list[int]:
    positions: list[int] = []

    async def deliver(upstream: str, messages: list[Message], read_to: int) -> None:
        positions.extend(position for _, _, position in messages)

    await read_streams(nc, await _intake(nc), {}, deliver, lambda _: None)
    return positions


EVERY = [2 * n for n in range(1, MESSAGES + 1)]


async def test_a_message_delivered_but_never_received_is_read_again_from_a_new_consumer(
    reader: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    _dropping(monkeypatch, lambda seen: seen == 567)
    assert await _read_all(reader) == EVERY  # each once, in order: the batch was not handed on
    assert await _consumers(reader) == 0


async def test_the_last_message_lost_is_found_missing_by_a_heartbeat_and_read_again(
    reader: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(streams, "HEARTBEAT_SECONDS", 1.0)
    _dropping(monkeypatch, lambda seen: seen == MESSAGES)
    assert await _read_all(reader) == EVERY


async def test_messages_lost_every_time_fail_the_rebuild_and_say_why(
    reader: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    _dropping(monkeypatch, lambda seen: seen % 7 == 0)
    with pytest.raises(RebuildError, match="never reached the rebuild, 5 times in a row"):
        await _read_all(reader)
    assert await _consumers(reader) == 0


async def test_a_restarted_server_is_read_from_where_the_rebuild_had_got_to(
    reader: Client, nats_server: EmbeddedNats, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(streams, "BATCH_MESSAGES", 10)
    positions: list[int] = []

    async def deliver(upstream: str, messages: list[Message], read_to: int) -> None:
        positions.extend(position for _, _, position in messages)
        if len(positions) == 200:  # the stream stays, on disk; the consumer, in memory, goes
            nats_server.stop()
            nats_server.start()
        await asyncio.sleep(0.02)  # slow enough that the server has not sent it all yet

    await read_streams(reader, await _intake(reader), {}, deliver, lambda _: None)
    assert positions == EVERY
    assert reader.stats["reconnects"] == 1


async def test_a_consumer_status_other_than_flow_control_starts_it_again(reader: Client) -> None:
    async def deliver(upstream: str, messages: list[Message], read_to: int) -> None:
        return None

    reading = streams._Reading(reader, (await _intake(reader))[0], 1, deliver)
    deleted = Msg(
        _client=reader,
        subject="_INBOX.x",
        headers={"Status": "409", "Description": "Consumer Deleted"},
    )
    await reading._answer(deleted)
    assert reading.again.is_set()
    assert reading.why_again == "its consumer stopped (409 Consumer Deleted)"
