"""A service's PostgreSQL store writes a transaction of any size: psycopg's pipeline, which
eventsourcing sends every transaction through, hangs on a large one (``shared/postgres.py``)."""

from __future__ import annotations

import threading
from uuid import uuid4

import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent, Tracking
from eventsourcing.utils import resolve_topic

from services.review.application import Reviews
from shared.postgres import PIPELINED_UP_TO, ProcessRecorder
from shared.store import POSTGRES_RECORDER_TOPIC
from tests.conftest import StoreChoice

HANG_SECONDS = 60.0
"""Far longer than the 20 MB takes (under a second here); a hang is for ever."""


def events(count: int, state_bytes: int) -> list[StoredEvent]:
    return [
        StoredEvent(uuid4(), 1, "tests.invented:Event", b"x" * state_bytes) for _ in range(count)
    ]


def written_in_time(app: Reviews, batch: list[StoredEvent], position: int) -> bool:
    """Whether ``batch`` and its position are written before ``HANG_SECONDS`` (in a daemon
    thread: one that hangs must not hold up the test run's end)."""
    failures: list[BaseException] = []

    def write() -> None:
        try:
            app.recorder.insert_events(batch, tracking=Tracking("intake", position))
        except BaseException as e:  # reported below, with the test's own failure
            failures.append(e)

    writing = threading.Thread(target=write, daemon=True)
    writing.start()
    writing.join(HANG_SECONDS)
    if failures:
        raise failures[0]
    return not writing.is_alive()


@pytest.mark.parametrize("store", ["postgres"], indirect=True)
def test_a_transaction_of_20_mb_is_written_and_small_ones_still_are(store: StoreChoice) -> None:
    assert resolve_topic(POSTGRES_RECORDER_TOPIC) is ProcessRecorder
    app = Reviews(store.env("review"))
    try:
        assert isinstance(app.recorder, ProcessRecorder)
        large = events(2000, 10_000)  # 20 MB: the library's pipeline hangs on it
        small = events(3, 1000)  # a service's own transactions: through the pipeline
        assert sum(len(e.state) for e in small) <= PIPELINED_UP_TO < len(large) * 10_000

        assert written_in_time(app, large, 1), "the 20 MB transaction hung"
        assert written_in_time(app, small, 2)
        assert app.recorder.max_tracking_id("intake") == 2
        assert app.recorder.max_notification_id() == len(large) + len(small)
        first = large[0]
        [stored] = app.recorder.select_events(first.originator_id)
        assert (stored.originator_version, stored.state) == (1, first.state)
    finally:
        app.close()


@pytest.mark.parametrize("store", ["postgres"], indirect=True)
def test_a_large_transaction_that_conflicts_writes_nothing_and_says_so(store: StoreChoice) -> None:
    app = Reviews(store.env("review"))
    try:
        first = events(200, 10_000)  # 2 MB: past the pipeline
        app.recorder.insert_events(first, tracking=Tracking("intake", 1))
        clash = [*events(199, 10_000), first[0]]  # one event a case already has
        with pytest.raises(IntegrityError):
            app.recorder.insert_events(clash, tracking=Tracking("intake", 2))
        assert app.recorder.max_notification_id() == len(first)  # none of the second batch
        assert app.recorder.max_tracking_id("intake") == 1  # nor its position
    finally:
        app.close()
