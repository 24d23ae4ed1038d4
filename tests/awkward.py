"""Awkward invented values for tests that compare two ways of writing the same JSON: text
that needs escaping or is not ASCII, and times in every kind of time zone."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, TypeAdapter
from pydantic_core import TzInfo

TEXTS = [
    "",
    "plain words",
    'a "quoted" word',
    "back\\slash \\n not a newline",
    "tab\tnewline\nreturn\r bell\x07 nul\x00 escape\x1b unit\x1f del\x7f \x80 \xa0",
    "é à ü ß \u2014 \u2018curly\u2019 \u201cquotes\u201d \u2026 € \ufeff \uffff",
    "日本語のテキスト, 中文, 한국어",
    "emoji 🙂👩‍👩‍👧 and an astral 𝄞",
    "line\u2028separator\u2029paragraph",
    '{"case_id":"0d0e5a53-2f4e-4b43-9a2b-5b7c0d4f8a11","note":"He said \\"no\\"\\n"}',
    "</script> & <b>",
]

ZONES = [
    UTC,
    UTC,
    TypeAdapter(AwareDatetime).validate_python("2026-11-24T09:00:00+00:00").tzinfo,  # pydantic's
    TypeAdapter(AwareDatetime).validate_python("2026-11-24T09:00:00+05:30").tzinfo,
    TzInfo(3615),  # pydantic's, an offset with seconds
    timezone(timedelta(hours=5, minutes=30)),
    timezone(timedelta(hours=-3)),
    timezone(timedelta(hours=1, seconds=15)),  # written by isoformat() with its seconds
    timezone(-timedelta(microseconds=5)),
    ZoneInfo("Europe/London"),
    ZoneInfo("America/St_Johns"),
    None,
]
"""Times as the services get them (UTC, pydantic's own zone) and otherwise."""


def a_text(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return rng.choice(TEXTS)
    pool = "abc \"\\/'\n\t\r\x00\x01\x1f\x7f\x80\xa0é€😀\u2028\ufeff"
    return "".join(rng.choice(pool) for _ in range(rng.randrange(0, 60)))


def a_time(rng: random.Random) -> datetime:
    at = datetime(1700, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(0, 10**10))
    if rng.random() < 0.5:
        at = at.replace(microsecond=rng.randrange(0, 10**6))
    zone = rng.choice(ZONES)
    return at.replace(tzinfo=None) if zone is None else at.astimezone(zone)
