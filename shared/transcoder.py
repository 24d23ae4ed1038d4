"""How every service's events are written as JSON in its store.

eventsourcing's own :class:`JSONTranscoder`, through its own extension point (the
``TRANSCODER_TOPIC`` setting), writing with orjson wherever orjson gives the very same bytes:
a flat state of text, whole numbers, true/false/null and the registered transcodings (times,
UUIDs, decimals) written as text. Anything else (floats, lists, nested objects, subclasses of
str or int, numbers and text orjson refuses) is written by the library's encoder as before.
Reading is the library's, unchanged, so what either writes, both read.

Why: writing an event's state was the largest single cost of applying a message in review's
rebuild (a chronology entry carries its message, about 1.3 kB of JSON text): 10 to 11 µs with the
standard library's encoder against 2 to 3 µs (``docs/performance.md``, section 4).
``tests/shared/test_transcoder.py`` compares both encoders byte for byte over varied states.
"""

from __future__ import annotations

from datetime import UTC, datetime, timezone, tzinfo
from typing import Any

import orjson
from eventsourcing.persistence import DatetimeAsISO, JSONTranscoder, Transcoding
from pydantic_core import TzInfo

TOPIC = "shared.transcoder:FastJSONTranscoder"
"""The value of eventsourcing's ``TRANSCODER_TOPIC`` that selects it."""

_NATIVE = (str, int, float, bool, list, tuple, dict)
"""What the library's encoder writes itself, never through a transcoding (subclasses too)."""


_FIXED_OFFSETS = (timezone, TzInfo)
"""Zones whose offset is the same at every moment: the standard library's, and the one
pydantic gives a time it parses (every time a message carries is one)."""
_FIXED_WRITTEN_AS_ISO: dict[tzinfo, bool] = {}


def written_as_iso(value: datetime) -> bool:
    """Whether orjson writes this time as ``isoformat()`` does: all but offsets with seconds.
    Known at once for a fixed-offset zone met before (asking pydantic's zone for its offset
    took four times as long, for each of an entry's times)."""
    zone = value.tzinfo
    if zone is UTC or zone is None:  # most: eventsourcing's timestamps are in UTC
        return True
    if type(zone) in _FIXED_OFFSETS:
        known = _FIXED_WRITTEN_AS_ISO.get(zone)
        if known is None:
            known = _FIXED_WRITTEN_AS_ISO.setdefault(zone, _offset_written_as_iso(value))
        return known
    return _offset_written_as_iso(value)


def _offset_written_as_iso(value: datetime) -> bool:
    offset = value.utcoffset()
    return offset is None or not (offset.seconds % 60 or offset.microseconds)


class FastJSONTranscoder(JSONTranscoder):
    """The library's JSON transcoder, byte for byte, writing flat states with orjson."""

    def __init__(self) -> None:
        super().__init__()
        self._wrapped: dict[type, Transcoding] = {}

    def register(self, transcoding: Transcoding) -> None:
        super().register(transcoding)
        # The library's encoder never asks a transcoding to write a native type's subclass.
        if not issubclass(transcoding.type, _NATIVE):
            self._wrapped[transcoding.type] = transcoding

    def encode(self, obj: Any) -> bytes:
        if type(obj) is dict:
            flat = self._flat(obj)
            if flat is not None:
                try:
                    return orjson.dumps(flat)
                except orjson.JSONEncodeError:
                    pass  # a key that is not text, a number too large, a lone surrogate
        return super().encode(obj)

    def _flat(self, state: dict[Any, Any]) -> dict[Any, Any] | None:
        """``state`` with its transcoded values in their ``_type_``/``_data_`` form, as the
        library's encoder would write them; None if orjson might write any of it otherwise
        (what orjson refuses, it raises for, and the library's encoder writes instead)."""
        flat = state.copy()
        wrapped = self._wrapped
        for key, value in state.items():
            kind = type(value)
            if kind is str or kind is int or kind is bool or value is None:
                continue
            transcoding = wrapped.get(kind)
            if transcoding is None:
                return None
            if kind is datetime and type(transcoding) is DatetimeAsISO and written_as_iso(value):
                data: Any = value  # orjson writes it as isoformat() would, and faster
            else:
                data = transcoding.encode(value)
                if type(data) is not str:
                    return None
            flat[key] = {"_type_": transcoding.name, "_data_": data}
        return flat
