"""Every service's events are written by orjson where it gives the library's own bytes: the
same JSON text as eventsourcing's ``JSONTranscoder`` for any state, and read back the same."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import orjson
import pytest
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    TranscodingNotRegisteredError,
    UUIDAsHex,
)

from services.review.application import Reviews
from services.review.domain import CaseRecord
from shared.transcoder import FastJSONTranscoder, written_as_iso
from tests.awkward import a_text, a_time


class Colour(Enum):
    RED = "red"


def transcoders() -> tuple[JSONTranscoder, FastJSONTranscoder]:
    pair = (JSONTranscoder(), FastJSONTranscoder())
    for transcoder in pair:
        transcoder.register(UUIDAsHex())
        transcoder.register(DecimalAsStr())
        transcoder.register(DatetimeAsISO())
    return pair


def a_value(rng: random.Random) -> Any:
    """Mostly what the services store (text, numbers, times, ids), sometimes anything else."""
    plain = [
        lambda: a_text(rng),
        lambda: rng.choice([0, 1, -1, 7, 2**31, -(2**63), 2**64 - 1, rng.randrange(-9, 10**9)]),
        lambda: rng.choice([True, False, None]),
        lambda: a_time(rng),
        lambda: uuid4(),
        lambda: Decimal(rng.choice(["0", "1.50", "-3.25", "1E+3"])),
    ]
    other = [
        lambda: rng.choice([2**64, -(2**63) - 1, 10**30]),  # beyond orjson's integers
        lambda: rng.choice([0.0, 2.5, 1e16, -1e-7, float("inf"), float("nan")]),
        lambda: [a_text(rng), 1, None],
        lambda: (a_text(rng), 2),
        lambda: {"nested": a_text(rng), "at": a_time(rng)},
        lambda: type("Text", (str,), {})(a_text(rng)),
        lambda: type("Number", (int,), {})(7),
        lambda: date(2026, 11, 24),
        lambda: Colour.RED,
    ]
    return rng.choice(other if rng.random() < 0.1 else plain)()


def a_state(rng: random.Random) -> dict[Any, Any]:
    names = ["timestamp", "school", "summary", "payload", "number", "occurred_at", "id", "x"]
    state = {rng.choice(names) + str(i): a_value(rng) for i in range(rng.randrange(0, 18))}
    if rng.random() < 0.02:
        state[3] = "a key that is not text"
    return state


def encoded(transcoder: JSONTranscoder, state: Any) -> bytes | type[Exception]:
    try:
        return transcoder.encode(state)
    except (TypeError, ValueError) as e:  # what the library's encoder raises, for both
        return type(e)


def test_a_time_is_known_to_be_written_as_isoformat_only_when_it_is() -> None:
    rng = random.Random(20261125)  # noqa: S311
    times = [a_time(rng) for _ in range(3000)]
    for at in times + times:  # again, once each fixed-offset zone's answer is kept
        assert written_as_iso(at) == (orjson.dumps(at) == orjson.dumps(at.isoformat())), at


def test_it_writes_what_the_library_writes_over_varied_states() -> None:
    library, fast = transcoders()
    rng = random.Random(20261124)  # noqa: S311
    by_orjson = 0
    for _ in range(5000):
        state = a_state(rng)
        assert encoded(fast, state) == encoded(library, state), state
        by_orjson += fast._flat(state) is not None
    # Both ways were compared: orjson's, and the library's for what orjson would write otherwise.
    assert 1000 < by_orjson < 4900, by_orjson


@pytest.mark.parametrize(
    "state",
    [
        {},
        {"text": "\ud800 a lone surrogate"},
        {"at": datetime(2026, 11, 24, 9, 0, tzinfo=UTC), "n": 3},
        {"not registered": object()},
        ["a", "list", "at the top"],
        "text at the top",
        {"colour": Colour.RED},
    ],
)
def test_it_writes_or_refuses_as_the_library_does(state: Any) -> None:
    library, fast = transcoders()
    assert encoded(fast, state) == encoded(library, state)


def test_an_unregistered_type_is_refused_as_the_library_refuses_it() -> None:
    _, fast = transcoders()
    with pytest.raises(TranscodingNotRegisteredError):
        fast.encode({"when": date(2026, 11, 24)})


def test_what_it_writes_is_read_back_the_same() -> None:
    library, fast = transcoders()
    rng = random.Random(7)  # noqa: S311
    for _ in range(500):
        state = {
            k: v
            for k, v in a_state(rng).items()
            if type(k) is str and type(v) in (str, int, bool, UUID)
        }
        assert library.decode(fast.encode(state)) == state
        assert fast.decode(library.encode(state)) == state


def test_the_services_store_their_events_with_it(tmp_path: Path) -> None:
    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "r.db")}
    reviews = Reviews(env)
    assert isinstance(reviews.mapper.transcoder, FastJSONTranscoder)
    record = CaseRecord(id=uuid4(), school="OAK", reference="OAK-2026-000001")
    record.record_own(
        kind="review.recorded",
        summary='What worked: "quick" containment, é',
        actor="invented.dsl",
        actor_role="dsl",
        occurred_at=datetime(2026, 11, 24, 9, 0, tzinfo=UTC),
        recorded_at=datetime(2026, 11, 24, 9, 1, 30, 5, tzinfo=UTC),
        payload='{"worked":"quick containment"}',
    )
    reviews.save(record)
    rows = reviews.recorder.select_events(record.id)
    assert len(rows) == 2  # opened, and the entry
    # Byte for byte what the library's own transcoder writes for the same state.
    library, _ = transcoders()
    assert [library.encode(library.decode(row.state)) for row in rows] == [r.state for r in rows]
    # And a service on the library's transcoder reads it.
    old = Reviews({**env, "TRANSCODER_TOPIC": "eventsourcing.persistence:JSONTranscoder"})
    assert not isinstance(old.mapper.transcoder, FastJSONTranscoder)
    entry = old.get_case(record.id).entries[0]
    assert entry.summary == 'What worked: "quick" containment, é'
    assert entry.recorded_at == datetime(2026, 11, 24, 9, 1, 30, 5, tzinfo=UTC)
