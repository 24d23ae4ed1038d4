"""``entry_hash`` writes its canonical JSON with orjson, for speed: it must give exactly the
hashes the straightforward ``json.dumps`` form gives, which every stored chain depends on."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from services.review.domain import chain
from services.review.domain.chain import CHAINED_FIELDS, GENESIS, entry_hash
from tests.awkward import a_text, a_time


def reference(fields: Mapping[str, Any]) -> str:
    """The hash as first written: a dict of the chained fields through ``json.dumps``."""
    content = {
        name: value.isoformat() if hasattr(value, "isoformat") else value
        for name, value in ((n, fields[n]) for n in CHAINED_FIELDS)
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def an_entry(rng: random.Random) -> dict[str, Any]:
    return {
        "number": rng.choice([1, 2, 9, 10, 199, rng.randrange(1, 10**9)]),
        "kind": a_text(rng),
        "summary": a_text(rng),
        "actor": a_text(rng),
        "actor_role": a_text(rng),
        "occurred_at": a_time(rng),
        "recorded_at": a_time(rng),
        "source": a_text(rng),
        "subject": a_text(rng),
        "payload": a_text(rng),
        "previous_hash": rng.choice([GENESIS, hashlib.sha256(a_text(rng).encode()).hexdigest()]),
        "hash": "ignored",
        "school": "not chained",
    }


def test_entry_hash_writes_the_fields_in_sorted_order() -> None:
    # The field-by-field form hard-codes the order json.dumps(sort_keys=True) would give.
    assert list(CHAINED_FIELDS) != sorted(CHAINED_FIELDS)  # so the test means something
    entry = an_entry(random.Random(0))  # noqa: S311
    assert entry_hash(entry) == reference(entry)


def test_an_entry_as_the_services_record_it_is_hashed_by_orjson(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_long_way(fields: Mapping[str, Any]) -> str:
        raise AssertionError("took the long way")

    monkeypatch.setattr(chain, "_entry_hash_long_way", no_long_way)
    rng = random.Random(3)  # noqa: S311
    for _ in range(200):
        entry = {
            **an_entry(rng),
            "occurred_at": datetime(2026, 11, 24, 9, 0, tzinfo=UTC),
            "recorded_at": datetime(2026, 11, 24, 9, 0, rng.randrange(60), 7, tzinfo=UTC),
        }
        assert entry_hash(entry) == reference(entry)


def test_entry_hash_equals_the_json_dumps_form_over_varied_entries() -> None:
    rng = random.Random(20261124)  # noqa: S311
    for _ in range(5000):
        entry = an_entry(rng)
        assert entry_hash(entry) == reference(entry), entry


@pytest.mark.parametrize(
    "changes",
    [
        {"occurred_at": datetime(2026, 11, 24, 9, 0, tzinfo=UTC)},  # no microseconds
        {"occurred_at": datetime(2026, 11, 24, 9, 0, 0, 1, tzinfo=UTC)},
        {"occurred_at": datetime(2026, 11, 24, 9, 0)},  # naive
        {"occurred_at": datetime(2026, 11, 24, 9, 0, tzinfo=timezone(timedelta(seconds=3615)))},
        {"occurred_at": "2026-11-24T09:00:00+00:00"},  # an export's text
        {"recorded_at": date(2026, 11, 24)},
        {"number": True},
        {"number": 0},
        {"number": -3},
        {"number": 2.5},
        {"number": 2**64},
        {"payload": None},
        {"payload": {"b": 1, "a": ["é", "\n"]}},
        {"summary": type("Text", (str,), {})("a str subclass \u00e9")},
        {"number": type("Number", (int,), {})(7)},
    ],
)
def test_entry_hash_equals_the_json_dumps_form_for_other_values(changes: dict[str, Any]) -> None:
    entry = {**an_entry(random.Random(1)), **changes}  # noqa: S311
    assert entry_hash(entry) == reference(entry)


def test_entry_hash_of_a_known_entry_is_unchanged() -> None:
    entry = {
        "number": 1,
        "kind": "incident.reported",
        "summary": 'Disclosure: "ça" \\ \n',
        "actor": "invented.dsl",
        "actor_role": "dsl",
        "occurred_at": datetime(2026, 11, 24, 9, 0, tzinfo=UTC),
        "recorded_at": datetime(2026, 11, 24, 9, 0, 0, 250_000, tzinfo=UTC),
        "source": "intake:1",
        "subject": "intake.incident.reported.v1",
        "payload": '{"a":"\\u00e9"}',
        "previous_hash": GENESIS,
    }
    # As the first implementation (json.dumps of a dict) hashed it.
    assert entry_hash(entry) == "33066b5d88b37943873e6f302be4aaffad751ca28f89731f2c00c72deba75949"
    assert reference(entry) == entry_hash(entry)
