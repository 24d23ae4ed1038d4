"""The rebuild's shortcuts give what the long way gives: the share a message's case falls in,
and the record a case not yet in the cache starts from."""

from __future__ import annotations

import gc
import json
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import Tracking

from ops.rebuild.run import GC_THRESHOLDS, fewer_collections
from ops.rebuild.store import (
    SQLITE_CACHE_KB,
    Applier,
    RebuiltReviews,
    SchoolIndexes,
    prepare_writing,
    rebuild_env,
)
from ops.rebuild.streams import peek_case
from services.review.application import Reviews
from shared.contracts.intake import LeadershipInformedV1
from shared.settings import Settings
from tests.helpers import incident_reported

GOLDEN = Path(__file__).parent.parent / "contracts" / "golden"


def test_peek_case_reads_the_case_id_as_uuid_does() -> None:
    for _ in range(2000):
        case_id = uuid4()
        data = json.dumps({"case_id": str(case_id), "school": "OAK"}).replace(" ", "").encode()
        assert peek_case(data) == case_id.int == UUID(data[12:48].decode()).int


@pytest.mark.parametrize(
    "data",
    [
        b'{"school":"OAK","case_id":"0d0e5a53-2f4e-4b43-9a2b-5b7c0d4f8a11"}',
        b'{"case_id":"not-a-uuid-at-all-but-36-characters-"}',
        b'{"case_id":"0d0e5a53-2f4e-4b43-9a2b-5b7c0d4f8a1"}',
        b'{"case_id":"0d0e5a53-2f4e-4b43-9a2b-5b7c0d4f8\xc3\xa9"}',
        b'{"case_id":null}',
        b"",
    ],
)
def test_peek_case_leaves_what_it_cannot_read_to_decoding(data: bytes) -> None:
    assert peek_case(data) is None


def test_a_fresh_rebuild_opens_cases_without_asking_the_store(tmp_path: Path) -> None:
    app = RebuiltReviews(rebuild_env(Settings(var_dir=tmp_path)))
    try:
        Applier(app)
        assert app.cases_only_cached
        asked: list[object] = []
        app.repository.get = lambda *a, **k: asked.append(a)  # type: ignore[method-assign]
        disclosure = incident_reported()
        informed = LeadershipInformedV1.model_validate(
            {
                **json.loads((GOLDEN / "intake.leadership.informed.v1.json").read_text()),
                "case_id": disclosure.case_id,  # type: ignore[attr-defined]
            }
        )
        case = app._record_for(informed.case_id, informed.school, informed.reference)
        assert (case.version, len(case.entries)) == (1, 0)
        assert asked == []
    finally:
        app.close()


def test_a_resumed_rebuild_reads_the_cases_it_saved(tmp_path: Path) -> None:
    env = rebuild_env(Settings(var_dir=tmp_path))
    first = Reviews(env)
    disclosure = incident_reported()
    first.process_event(disclosure, Tracking("intake", 1))  # type: ignore[arg-type]
    first.close()
    app = RebuiltReviews(env)
    try:
        Applier(app)
        assert not app.cases_only_cached
        case_id = disclosure.case_id  # type: ignore[attr-defined]
        case = app._record_for(case_id, "OAK", "ignored")
        assert len(case.entries) == 1
    finally:
        app.close()


def test_the_garbage_collector_is_left_as_it_was_found_even_when_a_rebuild_fails() -> None:
    before = gc.get_threshold()
    frozen = gc.get_freeze_count()
    during: list[tuple[tuple[int, int, int], int]] = []

    def a_failing_rebuild() -> None:
        with fewer_collections():
            during.append((gc.get_threshold(), gc.get_freeze_count()))
            raise RuntimeError("the rebuild failed")

    with pytest.raises(RuntimeError):
        a_failing_rebuild()
    [(thresholds, frozen_during)] = during
    assert thresholds == GC_THRESHOLDS != before
    assert frozen_during > frozen  # what was there before is not looked through again
    assert (gc.get_threshold(), gc.get_freeze_count()) == (before, frozen)


def test_the_writing_connection_keeps_its_settings_across_transactions(tmp_path: Path) -> None:
    app = RebuiltReviews(rebuild_env(Settings(var_dir=tmp_path)))
    try:
        datastore = app.recorder.datastore  # type: ignore[attr-defined]

        def settings() -> tuple[int, int]:
            with datastore.get_connection(commit=True) as connection:
                cursor = connection.cursor()
                cursor.execute("PRAGMA cache_size")
                cache_kb = -int(cursor.fetchone()[0])
                cursor.execute("PRAGMA synchronous")
                return cache_kb, int(cursor.fetchone()[0])

        assert settings() == (2000, 2)  # SQLite's defaults: 2,000 kB, FULL
        prepare_writing(app)
        app.recorder.insert_events([], tracking=Tracking("intake", 1))  # as the writer does
        assert app.recorder.max_tracking_id("intake") == 1
        assert settings() == (SQLITE_CACHE_KB, 1)  # NORMAL
    finally:
        app.close()


def test_school_indexes_carry_on_from_the_store_and_add_each_case_once(tmp_path: Path) -> None:
    env = rebuild_env(Settings(var_dir=tmp_path))
    first, second, third = uuid4(), uuid4(), uuid4()
    before = RebuiltReviews(env)
    try:
        stored = SchoolIndexes(before).stored_for([("OAK", first), ("ELM", second)])
        before.recorder.insert_events(stored, tracking=Tracking("intake", 1))
    finally:
        before.close()

    resumed = RebuiltReviews(env)  # as the writer of a resumed rebuild starts
    try:
        again = SchoolIndexes(resumed).stored_for([("OAK", first), ("OAK", third)])
        assert len(again) == 1  # the first case was indexed before the interruption
        resumed.recorder.insert_events(again, tracking=Tracking("intake", 2))
        assert resumed.school_case_ids("OAK") == [first, third]
        assert resumed.school_case_ids("ELM") == [second]
    finally:
        resumed.close()
