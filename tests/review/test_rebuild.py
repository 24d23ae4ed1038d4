"""Review rebuilt from the streams alone: the same views as the live store, whatever order the
live store received its entries in; a case changed in the live store is named, and only it."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import Tracking
from eventsourcing.utils import get_topic
from nats.js import JetStreamContext

from ops.rebuild import (
    ChainTail,
    Comparison,
    RebuildError,
    RebuildOutcome,
    compare,
    live_env,
    rebuild,
    rebuild_settings,
    rebuilt_store,
    review_head,
    stream_heads,
)
from ops.rebuild.run import _rebuild_dealt, _Share
from ops.rebuild.store import SQLITE_PAGE_SIZE
from services.review.adapters.contracts import PUBLISHED, to_contract
from services.review.application import Reviews
from services.review.domain import CaseRecord
from services.review.domain.review_and_closure import ReviewRecorded
from shared.bus import connect, ensure_streams
from shared.contracts import Contract, decode
from shared.contracts.streams import POSITION_HEADER, PREVIOUS_HEADER, PRODUCER_STREAMS
from shared.embedded_nats import EmbeddedNats
from shared.relay import OutboxRelay
from shared.settings import Settings
from tests.conftest import StoreChoice
from tests.review.test_chain import rewrite_stored_event

pytestmark = pytest.mark.nats

GOLDEN = Path(__file__).parent.parent / "contracts" / "golden"
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
REVIEWED = {
    "what_worked": "Invented: the DSL was told at once",
    "what_did_not_work": "Invented: nothing",
    "procedure_changes": "Invented: none",
}


def golden(subject: str, case_id: UUID, reference: str, at: datetime, **changes: Any) -> Contract:
    data = json.loads((GOLDEN / f"{subject}.json").read_text())
    data.update(
        case_id=str(case_id),
        reference=reference,
        occurred_at=at.isoformat(),
        recorded_at=at.isoformat(),
        **changes,
    )
    return decode(subject, json.dumps(data).encode())


class Upstreams:
    """Intake and referral as review sees them: each contract published as their relays do
    (position headers, a gap-free stream) and applied to the live store as its consumers do."""

    def __init__(self, js: JetStreamContext, live: Reviews) -> None:
        self.js = js
        self.live = live
        self.positions = {"intake": 0, "referral": 0}

    async def publish(self, contract: Contract) -> int:
        producer = type(contract).producer
        previous = self.positions[producer]
        position = previous + 2  # intake's log also holds private events: positions have gaps
        headers = {
            "Nats-Msg-Id": f"{producer}:{position}",
            POSITION_HEADER: str(position),
            PREVIOUS_HEADER: str(previous) if previous else "",
        }
        if previous:
            headers["Nats-Expected-Last-Msg-Id"] = f"{producer}:{previous}"
        await self.js.publish(
            contract.subject,
            contract.model_dump_json().encode(),
            headers=headers,
            stream=PRODUCER_STREAMS[producer].name,
        )
        self.positions[producer] = position
        return position

    def apply(self, contract: Contract, position: int) -> None:
        self.live.process_event(contract, Tracking(type(contract).producer, position))  # type: ignore[arg-type]


async def a_case(upstreams: Upstreams, n: int, *, referral_first: bool) -> UUID:
    """A case with three upstream entries; the live store receives referral's before intake's
    when ``referral_first``, while a rebuild reads INTAKE first, always."""
    case_id, reference = uuid4(), f"OAK-2026-{n:04d}"
    at = T0 + timedelta(hours=n)
    contracts = [
        golden("intake.incident.reported.v1", case_id, reference, at),
        golden("intake.leadership.informed.v1", case_id, reference, at + timedelta(minutes=5)),
        golden("referral.assessment.recorded.v1", case_id, reference, at + timedelta(minutes=6)),
    ]
    published = [(c, await upstreams.publish(c)) for c in contracts]
    for contract, position in sorted(
        published, key=lambda p: type(p[0]).producer != "referral", reverse=not referral_first
    ):
        upstreams.apply(contract, position)
    return case_id


async def relay_own_entries(live: Reviews, js: JetStreamContext) -> None:
    """Review's own relay, run until everything it has is on the REVIEW stream."""
    relay = OutboxRelay(live, "review", js, to_contract, topics=[get_topic(c) for c in PUBLISHED])
    position = await relay.stream_position()
    while (published := await relay.publish_once(position)) is not None:
        position = published


class World(NamedTuple):
    """Three cases told to the live store and published on the streams, with two own entries
    (a read, a review) relayed to REVIEW."""

    settings: Settings
    live: Reviews
    js: JetStreamContext
    upstreams: Upstreams
    cases: list[UUID]


@pytest.fixture
async def world(store: StoreChoice, nats_server: EmbeddedNats) -> AsyncIterator[World]:
    settings = store.settings(nats_url=nats_server.url)
    nc = await connect(nats_server.url, "test-rebuild")
    js = nc.jetstream()
    await ensure_streams(js, settings)
    live = Reviews(store.env("review"))
    live.clock = lambda: T0 + timedelta(days=3)
    upstreams = Upstreams(js, live)
    cases = [await a_case(upstreams, n, referral_first=n % 2 == 0) for n in range(1, 4)]
    live.record_read(cases[0], user="dsl.oak", role="dsl", what="case_view")
    live.record_step(
        cases[1], ReviewRecorded.KIND, REVIEWED, recorded_by="dsl.oak", recorded_by_role="dsl"
    )
    await relay_own_entries(live, js)
    yield World(settings, live, js, upstreams, cases)
    live.close()
    await nc.close()


async def rebuilt_and_compared(
    settings: Settings, live: Reviews, **options: Any
) -> tuple[RebuildOutcome, Comparison]:
    options.setdefault("shares", 1)
    outcome = await rebuild(settings, settings.nats_url, **options)
    rebuilt = rebuilt_store(settings)
    try:
        return outcome, compare(live, rebuilt, review_head(outcome.heads))
    finally:
        rebuilt.close()


async def test_a_rebuild_from_the_streams_has_the_same_views(world: World) -> None:
    settings, live, _, _, cases = world
    outcome, comparison = await rebuilt_and_compared(settings, live)
    assert outcome.messages == 9 + 2  # three cases of three upstream entries; two own entries
    assert (outcome.applied, outcome.unreadable) == (11, [])
    assert comparison.differences == []
    assert (comparison.cases, comparison.left_out_live, comparison.left_out_rebuilt) == (3, 0, 0)

    rebuilt = rebuilt_store(settings)
    try:
        for case_id in cases:
            assert rebuilt.verify(case_id) is None
            # Arrival order differs (referral first, live, for the second case), hence numbers
            # and hashes; what each entry says does not.
            assert sorted(e.kind for e in rebuilt.get_case(case_id).entries) == sorted(
                e.kind for e in live.get_case(case_id).entries
            )
        own = [e for e in rebuilt.get_case(cases[1]).entries if e.subject.startswith("review.")]
        assert [(e.kind, e.actor) for e in own] == [(ReviewRecorded.KIND, "dsl.oak")]
        assert rebuilt.case_view(cases[1]).reviews[0].facts == REVIEWED
        assert rebuilt.school_case_ids("OAK") == cases  # the index, as intake opened them
    finally:
        rebuilt.close()


async def test_a_case_changed_in_the_live_store_is_named_and_only_it(
    world: World, store: StoreChoice
) -> None:
    settings, live, _, _, cases = world
    edited, extended, intact = cases
    # Someone with access to the database edits an entry's words...
    table = live.recorder.events_table_name  # type: ignore[attr-defined]
    # (version 3 of the first case is its second entry: intake's, told the DSL)
    rewrite_stored_event(table, store, store.env("review"), 3, edited, "dsl.invented", "dsl.other")
    # ... and an entry is recorded live that no stream holds, claiming a position it has read.
    record = live.get_case(extended)
    record.record_entry(
        kind="leadership_informed",
        summary="Invented: never published",
        actor="someone",
        actor_role="dsl",
        occurred_at=T0,
        recorded_at=T0,
        source="intake:2",
        subject="intake.leadership.informed.v1",
        payload="{}",
    )
    live.save(record)

    _, comparison = await rebuilt_and_compared(settings, live)
    named = {d.case_id: d.problem for d in comparison.differences}
    assert set(named) == {edited, extended}
    assert "1 entry only in the live store" in named[edited]
    assert "1 entry only in the rebuild" in named[edited]
    assert named[extended] == (
        "1 entry only in the live store (leadership_informed at 2026-11-24 09:00:00)"
    )
    assert intact not in named
    assert "dsl.other" not in str(comparison.differences)  # words may be personal: never shown


async def test_what_the_live_store_applied_since_is_left_out_not_a_difference(
    world: World,
) -> None:
    settings, live, _, upstreams, cases = world
    outcome, _ = await rebuilt_and_compared(settings, live)
    # After the rebuild read its streams, live applies one more message and records a read.
    late = golden("intake.leadership.informed.v1", cases[2], "OAK-2026-0003", T0)
    upstreams.apply(late, await upstreams.publish(late))
    live.record_read(cases[2], user="dsl.oak", role="dsl", what="case_view")

    rebuilt = rebuilt_store(settings)
    try:
        comparison = compare(live, rebuilt, review_head(outcome.heads))
    finally:
        rebuilt.close()
    assert comparison.differences == []
    assert comparison.left_out_live == 2
    assert comparison.positions["intake"] == (upstreams.positions["intake"], 12)


async def test_an_interrupted_rebuild_resumes_from_its_positions(world: World) -> None:
    settings, live, js, upstreams, _ = world
    await rebuilt_and_compared(settings, live)
    await a_case(upstreams, 4, referral_first=True)
    read = await a_case(upstreams, 5, referral_first=False)
    live.record_read(read, user="dsl.oak", role="dsl", what="case_view")
    await relay_own_entries(live, js)

    resumed, comparison = await rebuilt_and_compared(settings, live, resume=True)
    assert resumed.applied == 3 + 3 + 1  # only what came after the first rebuild's positions
    assert comparison.differences == []
    assert comparison.cases == 5


async def test_shares_in_processes_rebuild_the_same_as_one(world: World) -> None:
    settings, live, *_ = world
    outcome = await rebuild(settings, settings.nats_url, shares=2)
    rebuilt = rebuilt_store(settings)
    try:
        comparison = compare(live, rebuilt, review_head(outcome.heads))
    finally:
        rebuilt.close()
    assert outcome.shares == 2
    assert outcome.applied == 11  # each message applied by exactly one share
    assert (comparison.cases, comparison.differences) == (3, [])


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)  # pages are SQLite's
async def test_a_fresh_sqlite_rebuild_store_has_large_pages_and_a_resumed_one_keeps_them(
    world: World,
) -> None:
    settings, live, _, upstreams, _ = world
    path = rebuild_settings(settings).var_dir / "review.sqlite"

    def page_size() -> int:
        db = sqlite3.connect(path)
        try:
            return int(db.execute("PRAGMA page_size").fetchone()[0])
        finally:
            db.close()

    await rebuild(settings, settings.nats_url, shares=2)
    assert page_size() == SQLITE_PAGE_SIZE != 4096  # SQLite's default
    await a_case(upstreams, 4, referral_first=True)
    _, comparison = await rebuilt_and_compared(settings, live, resume=True)
    assert page_size() == SQLITE_PAGE_SIZE
    assert (comparison.cases, comparison.differences) == (4, [])


async def test_an_interrupted_rebuild_in_shares_resumes_in_the_same_shares(world: World) -> None:
    settings, live, _, upstreams, _ = world
    first, _ = await rebuilt_and_compared(settings, live, shares=2)
    assert first.shares == 2
    await a_case(upstreams, 4, referral_first=True)
    await a_case(upstreams, 5, referral_first=False)

    # Asked for one share, it keeps the two the cases were dealt into, each at its position.
    resumed, comparison = await rebuilt_and_compared(settings, live, resume=True, shares=1)
    assert resumed.shares == 2
    assert resumed.applied == 3 + 3
    assert (comparison.cases, comparison.differences) == (5, [])


async def test_a_share_that_fails_fails_the_rebuild_and_says_why(
    nats_server: EmbeddedNats, tmp_path: Path
) -> None:
    nc = await connect(nats_server.url, "test-rebuild-fails")
    try:
        js = nc.jetstream()
        await ensure_streams(js, Settings(var_dir=tmp_path))
        heads = tuple(await stream_heads(js))
    finally:
        await nc.close()
    # A store no share can open: a directory where the SQLite file should be.
    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path)}
    jobs = [_Share(env, heads, index, 2, 5000) for index in range(2)]
    with pytest.raises(RebuildError, match=r"(share \d|writing): .*Error"):
        await asyncio.wait_for(_rebuild_dealt(jobs, nats_server.url, {}, lambda _: None), 60)


async def test_a_rebuild_in_shares_cut_off_midway_resumes_to_the_same_store(
    store: StoreChoice, nats_server: EmbeddedNats
) -> None:
    settings = store.settings(nats_url=nats_server.url)
    nc = await connect(nats_server.url, "test-rebuild-cut")
    try:
        js = nc.jetstream()
        await ensure_streams(js, settings)
        upstreams = Upstreams(js, Reviews(store.env("review")))
        for n in range(700):
            case_id, reference, at = uuid4(), f"OAK-2026-{n:04d}", T0 + timedelta(minutes=n)
            for subject in (
                "intake.incident.reported.v1",
                "intake.leadership.informed.v1",
                "referral.assessment.recorded.v1",
            ):
                await upstreams.publish(golden(subject, case_id, reference, at))
        upstreams.live.close()
    finally:
        await nc.close()

    # Cut off (as by Ctrl-C) once most messages are applied: its processes are stopped.
    cut = settings.model_copy(
        update={
            "var_dir": settings.var_dir / "cut",
            "database_schema_prefix": settings.database_schema_prefix + "cut_",
        }
    )
    applied = 0

    def progress(n: float) -> None:
        nonlocal applied
        applied += int(n)
        if applied >= 1500:
            cutting.cancel()

    cutting = asyncio.ensure_future(
        rebuild(cut, nats_server.url, shares=2, batch_events=300, progress=progress)
    )
    with pytest.raises(asyncio.CancelledError):
        await cutting
    resumed = await rebuild(cut, nats_server.url, resume=True)
    assert (resumed.shares, resumed.messages) == (2, 2100)
    assert resumed.applied < 2100  # it carried on from what had been written

    whole = await rebuild(settings, nats_server.url, shares=1)
    left, right = rebuilt_store(settings), rebuilt_store(cut)
    try:
        comparison = compare(left, right, review_head(whole.heads))
    finally:
        left.close()
        right.close()
    assert (comparison.cases, comparison.differences) == (700, [])


def test_a_saved_case_keeps_only_its_last_entry_in_memory() -> None:
    record = CaseRecord(id=uuid4(), school="OAK", reference="OAK-2026-0001")
    for n in range(3):
        record.record_own(
            kind="case_read",
            summary="read",
            actor="a",
            actor_role="dsl",
            occurred_at=T0,
            recorded_at=T0 + timedelta(seconds=n),
            payload="{}",
        )
    last = record.entries[-1]
    tail = ChainTail(record.entries)
    assert (len(tail), tail[-1], tail[2]) == (3, last, last)
    with pytest.raises(IndexError):
        tail[0]


async def test_safeguard_review_rebuild_says_same_or_names_each_case(
    world: World, store: StoreChoice, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from ops.cli import app

    settings, live, _, _, cases = world
    monkeypatch.setenv("SAFEGUARD_VAR_DIR", str(settings.var_dir))
    monkeypatch.setenv("SAFEGUARD_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SAFEGUARD_DATABASE_SCHEMA_PREFIX", settings.database_schema_prefix)
    monkeypatch.setenv("NATS_URL", settings.nats_url)

    # The command runs its own event loop: in a thread of its own, as from a shell.
    same = await asyncio.to_thread(CliRunner().invoke, app, ["review", "rebuild", "--shares", "1"])
    assert same.exit_code == 0, same.output
    assert "rebuilt 11 stream messages" in same.output
    assert "events/s" in same.output
    assert "3 cases compared: the same" in same.output

    table = live.recorder.events_table_name  # type: ignore[attr-defined]
    rewrite_stored_event(table, store, live_env(settings), 3, cases[1], "Invented", "Altered")
    differs = await asyncio.to_thread(CliRunner().invoke, app, ["review", "rebuild"])
    assert differs.exit_code == 1, differs.output
    assert f"DIFFERS OAK-2026-0002 ({cases[1]}): 1 entry only in the live store" in differs.output
    assert str(cases[0]) not in differs.output
    assert "3 cases compared, 1 differ" in differs.output


async def test_a_message_this_release_cannot_read_is_named_and_passed_over(world: World) -> None:
    settings, live, js, upstreams, _ = world
    # As if a newer intake published a contract this release does not know (the live consumer
    # dead-letters it): the rebuild names it, and goes on with what follows.
    position = upstreams.positions["intake"] + 2
    await js.publish(
        "intake.something.new.v1",
        b'{"case_id": "not even a uuid"}',
        headers={
            "Nats-Msg-Id": f"intake:{position}",
            POSITION_HEADER: str(position),
            PREVIOUS_HEADER: str(position - 2),
        },
        stream="INTAKE",
    )
    upstreams.positions["intake"] = position
    later = await a_case(upstreams, 4, referral_first=False)

    outcome, comparison = await rebuilt_and_compared(settings, live)
    assert outcome.unreadable == [f"intake.something.new.v1 at intake:{position}"]
    assert comparison.differences == []
    assert later in rebuilt_case_ids(settings)


def rebuilt_case_ids(settings: Settings) -> list[UUID]:
    rebuilt = rebuilt_store(settings)
    try:
        return list(rebuilt.case_ids())
    finally:
        rebuilt.close()


def test_safeguard_review_rebuild_needs_a_live_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from ops.cli import app

    monkeypatch.setenv("SAFEGUARD_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("SAFEGUARD_DATABASE_URL", raising=False)
    result = CliRunner().invoke(app, ["review", "rebuild"])
    assert result.exit_code == 2
    assert "no live review store at" in result.output
    assert not (tmp_path / "var" / "review.sqlite").exists()  # and none was made
