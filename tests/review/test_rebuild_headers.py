"""The rebuild reads message headers with its own parser: the same result as nats-py's, always."""

from __future__ import annotations

import asyncio
import random

import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg

from ops.rebuild.nats_headers import ReadingClient, parse_headers
from ops.rebuild.streams import connect
from shared.embedded_nats import EmbeddedNats

RELAY = (
    b"Nats-Msg-Id: intake:1234\r\nSafeguard-Position: 1234\r\n"
    b"Safeguard-Previous-Position: 1232\r\nNats-Expected-Last-Msg-Id: intake:1232\r\n\r\n"
)

AWKWARD = [
    RELAY,
    b"",
    b"\r\n",
    b"\r\n\r\n",
    b"Name:value\r\n\r\n",
    b"Name:   value   \r\n\r\n",
    b"  Name : value\r\n\r\n",
    b"Na me: value\r\n\r\n",
    b"Name\t: value\r\n\r\n",
    b"Name: a\tb\r\n\r\n",
    b"Name: \tvalue\t\r\n\r\n",
    "Name: café\r\n\r\n".encode(),
    "Nämé: value\r\n\r\n".encode(),
    b"Name: \xff\xfe\r\n\r\n",
    b"NoColon\r\nName: value\r\n\r\n",
    b":value\r\n\r\n",
    b"Name:\r\n\r\n",
    b"Name: \r\n\r\n",
    b"Name: a: b\r\n\r\n",
    b"A: 1\r\nA: 2\r\n\r\n",
    b"A: 1\nB: 2\r\n\r\n",
    b"A: 1\rB: 2\r\n\r\n",
    b"\x1cName: value\r\n\r\n",
    b"Name: value\x1c\r\n\r\n",
    b"\x0bName: value\r\n\r\n",
    b"Name: value\x0b\r\n\r\n",
    b"A: 1",
    b"A: 1\r\n\r\nB: 2\r\n\r\n",
    b"Name: del\x7f\r\n\r\n",
    b"Name: nul\x00\r\n\r\n",
    b"Nats-Last-Consumer: 1016\r\nNats-Last-Stream: 1024\r\n\r\n",
]
"""Header blocks a message could carry: the relays', and every shape nats-py's parser treats
specially (spaces and tabs around names and values, non-ASCII, lines without a colon, line
ends other than CRLF, characters Python counts as spaces and bytes do not)."""

FRAGMENTS = [
    b"Name",
    b"X-Y",
    b"a",
    b":",
    b": ",
    b" ",
    b"\t",
    b"\r\n",
    b"\r",
    b"\n",
    b"value",
    b"1234",
    "é".encode(),
    b"\xff",
    b"\x1c",
    b"\x0b",
    b"\x7f",
    b"",
]


def _random_blocks(count: int) -> list[bytes]:
    rng = random.Random(20261125)  # noqa: S311  (seeded: the same blocks every run)
    return [
        b"".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(0, 12))) + b"\r\n\r\n"
        for _ in range(count)
    ]


@pytest.mark.parametrize("raw", AWKWARD)
def test_every_awkward_header_block_reads_as_nats_py_reads_it(raw: bytes) -> None:
    assert parse_headers(raw) == Client._parse_header_lines(raw)


def test_random_header_blocks_read_as_nats_py_reads_them() -> None:
    blocks = _random_blocks(5000)
    differ = [raw for raw in blocks if parse_headers(raw) != Client._parse_header_lines(raw)]
    assert differ == []


def test_a_relays_headers_are_read_in_one_pass_not_handed_to_nats_py(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(raw: bytes) -> dict[str, str]:
        raise AssertionError(f"handed to nats-py: {raw!r}")

    monkeypatch.setattr(Client, "_parse_header_lines", staticmethod(refuse))
    assert parse_headers(RELAY) == {
        "Nats-Msg-Id": "intake:1234",
        "Safeguard-Position": "1234",
        "Safeguard-Previous-Position": "1232",
        "Nats-Expected-Last-Msg-Id": "intake:1232",
    }


@pytest.mark.nats
async def test_messages_read_through_the_rebuilds_connection_use_its_parser(
    nats_server: EmbeddedNats, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The installed nats-py still calls the method :class:`ReadingClient` puts in place."""
    parsed: list[bytes] = []

    def counted(raw: bytes) -> dict[str, str]:
        parsed.append(raw)
        return parse_headers(raw)

    monkeypatch.setattr(ReadingClient, "_parse_header_lines", staticmethod(counted))
    nc = await connect(nats_server.url, "test-headers")
    try:
        received: asyncio.Queue[Msg] = asyncio.Queue()
        await nc.subscribe("headers.test", cb=received.put)
        sent = {"Safeguard-Position": "42", "Note": "café"}
        await nc.publish("headers.test", b"{}", headers=sent)
        msg = await asyncio.wait_for(received.get(), timeout=5)
    finally:
        await nc.close()
    assert msg.headers == sent
    assert len(parsed) == 1
