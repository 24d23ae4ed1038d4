"""Where the rebuild bends nats-py, and the only place: its client reads a relay's header block
in one pass instead of nats-py's character-by-character parser (a third of the reading
process's CPU in a rebuild; ``docs/performance.md``, section 4).

nats-py offers no public way to read headers otherwise, so :class:`ReadingClient` puts
:func:`parse_headers` in place of the client's ``_parse_header_lines``, a private method. The
bend is kept here alone, and ``tests/review/test_rebuild_headers.py`` fails if nats-py changes
under it: if the two parsers ever read a header block differently, or if the installed nats-py
stops calling the method this replaces. The services never use this client.
"""

from __future__ import annotations

import re

from nats.aio.client import Client

__all__ = ["ReadingClient", "parse_headers"]

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
