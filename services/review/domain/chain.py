"""Tamper evidence: each case's entries form a hash chain.

An entry's hash covers its content and the hash of the entry before it, so that changing,
removing or reordering a stored entry breaks the chain from there on, and :func:`verify` names
the first entry where it breaks.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from shared.transcoder import written_as_iso

GENESIS = "0" * 64
"""The "previous hash" of a case's first entry."""

CHAINED_FIELDS = (
    "number",
    "kind",
    "summary",
    "actor",
    "actor_role",
    "occurred_at",
    "recorded_at",
    "source",
    "subject",
    "payload",
    "previous_hash",
)
"""What an entry's hash covers: everything it says, and the hash before it."""


_SORTED_FIELDS = tuple(sorted(CHAINED_FIELDS))


def entry_hash(fields: Mapping[str, Any]) -> str:
    """The SHA-256 of an entry's chained fields as canonical JSON (times as ISO 8601): the
    fields sorted by name, no spaces, text as UTF-8 rather than escaped.

    That is ``json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``
    byte for byte (``tests/review/test_entry_hash.py`` compares the two), written by orjson
    from the fields in sorted order when every value is text, a whole number, a time, true,
    false or null, in about a third of the time: it is paid for every entry
    recorded, and every entry verified. Anything else goes the long way."""
    content: dict[str, Any] = {}
    for name in _SORTED_FIELDS:
        value = fields[name]
        kind = type(value)
        if kind is str or kind is int or kind is bool or value is None:
            content[name] = value
        elif kind is datetime and written_as_iso(value):
            content[name] = value  # orjson writes it as isoformat() would, in less time
        else:
            return _entry_hash_long_way(fields)
    try:
        canonical = orjson.dumps(content)
    except orjson.JSONEncodeError:  # a number too large, a lone surrogate
        return _entry_hash_long_way(fields)
    return hashlib.sha256(canonical).hexdigest()


def _entry_hash_long_way(fields: Mapping[str, Any]) -> str:
    """The hash as first written, for values orjson would write otherwise (an export's
    strings, subclasses, offsets with seconds...): through the standard library's encoder."""
    content = {
        name: value.isoformat() if hasattr(value, "isoformat") else value
        for name, value in ((n, fields[n]) for n in CHAINED_FIELDS)
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    """Where a case's chain breaks, and how."""

    number: int
    problem: str


def verify(entries: Iterable[Mapping[str, Any]]) -> ChainBreak | None:
    """The first break in a case's entries, in stored order; None if the chain holds."""
    previous = GENESIS
    for expected_number, entry in enumerate(entries, start=1):
        if not entry["hash"]:
            return ChainBreak(expected_number, "recorded before entries were chained")
        if entry["number"] != expected_number:
            return ChainBreak(
                expected_number,
                f"entry {entry['number']} stands where "
                f"entry {expected_number} should: an entry was removed or moved",
            )
        if entry["previous_hash"] != previous:
            return ChainBreak(expected_number, "does not follow from the entry before it")
        if entry_hash(entry) != entry["hash"]:
            return ChainBreak(expected_number, "its content no longer matches its hash")
        previous = entry["hash"]
    return None
