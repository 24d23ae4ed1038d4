"""Review rebuilt from the streams, against a raw read of the same streams; one long case's
chronology, verify and as_of; and the peak memory of a large rebuild.

Invented cases of 20 messages each (11 on INTAKE, 6 on REFERRAL, 3 of review's own on REVIEW,
from the golden samples) are published as the relays do (position headers, expected last
message id), 1,000 cases open at a time so that their messages interleave. Not timed. Then:

* raw: an ordered push consumer on nats-py's own client, as installed, reads every message of
  the three streams and parses its position header: the least a reader with the library does,
  and what the target is measured against; then the same through the rebuild's client (its own
  header parser), printed with its ratio too, for comparison;
* rebuild: ``ops.rebuild.rebuild`` into a fresh SQLite store, or with
  ``--database-url`` into fresh PostgreSQL schemas, dropped afterwards (the figure
  ``safeguard review rebuild`` prints: from reading the streams' heads to the school indexes
  written, its processes' start included), in a child process so that its peak memory is its
  own (each share and the writer report theirs); the comparison with a live store is timed
  separately (``--compare``);
* one case of 200 entries in a review store on SQLite: its chronology (the case read from the
  store), verify (the chain from the stored events), as_of, and its view (views.fold).

    .venv/bin/python bench/bench_review.py                   # 1,000,000 events
    .venv/bin/python bench/bench_review.py --events 20000    # a quick run
    .venv/bin/python bench/bench_review.py --events 100000 \
        --database-url postgresql://postgres@127.0.0.1:5432/test    # into PostgreSQL
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import nats
from _common import JWT_SECRET, print_header, private_nats, rate, temp_dir
from eventsourcing.persistence import Tracking
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from ops.rebuild import (
    compare,
    default_shares,
    rebuild,
    rebuilt_store,
    review_head,
    stream_heads,
)
from ops.rebuild.streams import connect
from services.review.application import Reviews
from shared.bus import ensure_streams
from shared.contracts import decode
from shared.contracts.streams import POSITION_HEADER, PREVIOUS_HEADER, PRODUCER_STREAMS
from shared.settings import Settings
from shared.store import store_env

GOLDEN = Path(__file__).resolve().parent.parent / "tests" / "contracts" / "golden"
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
CASE = (
    "intake.incident.reported.v1",
    "intake.triage.recorded.v1",
    "intake.young_person.recorded.v1",
    "intake.young_person.recorded.v1",
    "intake.leadership.informed.v1",
    "intake.dsl.assigned.v1",
    "referral.assessment.recorded.v1",
    "intake.device_custody.recorded.v1",
    "referral.assessment.recorded.v1",
    "intake.image_not_viewed.attested.v1",
    "intake.image.contained.v1",
    "referral.risk.assessed.v1",
    "review.entry.recorded.v1",
    "intake.image.reported_to_site.v1",
    "referral.assessment.recorded.v1",
    "referral.action.completed.v1",
    "intake.deletion.requested.v1",
    "referral.action.declined.v1",
    "review.entry.recorded.v1",
    "review.entry.recorded.v1",
)
"""One invented case's messages, in the order they are published."""
OPEN_CASES = 1000
TARGET_RATIO = 1 / 3
TARGET_CASE_MS = 20.0


def golden(subject: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((GOLDEN / f"{subject}.json").read_text())
    return data


TEMPLATES = {subject: golden(subject) for subject in set(CASE)}


def message(subject: str, case_id: UUID, n: int, step: int) -> bytes:
    """A golden sample about case ``n``, as its producer's relay publishes it."""
    at = (T0 + timedelta(minutes=n % 100_000, seconds=step)).isoformat()
    body = {
        **TEMPLATES[subject],
        "case_id": str(case_id),
        "reference": f"OAK-2026-{n:06d}",
        "occurred_at": at,
        "recorded_at": at,
    }
    return decode(subject, json.dumps(body).encode()).model_dump_json().encode()


def messages(events: int) -> Iterator[tuple[str, bytes]]:
    """``events`` messages of invented cases, ``OPEN_CASES`` of them progressing together."""
    cases = -(-events // len(CASE))
    emitted = 0
    for first in range(0, cases, OPEN_CASES):
        batch = [(uuid4(), n) for n in range(first, min(first + OPEN_CASES, cases))]
        for step, subject in enumerate(CASE):
            for case_id, n in batch:
                if emitted == events:
                    return
                yield subject, message(subject, case_id, n, step)
                emitted += 1


async def publish(js: JetStreamContext, events: int) -> dict[str, int]:
    """Publish as the relays do; each producer's positions have gaps, as a real log's do."""
    positions = dict.fromkeys(PRODUCER_STREAMS, 0)
    counts = dict.fromkeys(PRODUCER_STREAMS, 0)
    pending = []
    start = time.perf_counter()
    for i, (subject, data) in enumerate(messages(events), start=1):
        producer = subject.split(".", 1)[0]
        previous = positions[producer]
        position = previous + 2
        headers = {
            "Nats-Msg-Id": f"{producer}:{position}",
            POSITION_HEADER: str(position),
            PREVIOUS_HEADER: str(previous) if previous else "",
        }
        if previous:
            headers["Nats-Expected-Last-Msg-Id"] = f"{producer}:{previous}"
        stream = PRODUCER_STREAMS[producer].name
        pending.append(await js.publish_async(subject, data, headers=headers, stream=stream))
        positions[producer] = position
        counts[producer] += 1
        if len(pending) >= 2000:
            await asyncio.gather(*pending)
            pending = []
        if i % 100_000 == 0:
            print(f"  published {i:,} of {events:,} ({time.perf_counter() - start:.0f} s)")
    await asyncio.gather(*pending)
    return counts


async def raw_read(url: str, *, stock: bool = True) -> tuple[float, int]:
    """Every message of the three streams through an ordered consumer, its position parsed:
    through nats-py's own client (``stock``), or the rebuild's (its own header parser)."""
    nc = await (nats.connect(url, name="bench-raw-read") if stock else connect(url, "bench-raw"))
    try:
        js = nc.jetstream()
        heads = await stream_heads(js)
        start = time.perf_counter()
        read = 0
        for head in heads:
            if not head.messages:
                continue
            done = asyncio.Event()
            last = head.last_position

            async def on_message(msg: Msg, last: int = last, done: asyncio.Event = done) -> None:
                nonlocal read
                read += 1
                if int((msg.headers or {})[POSITION_HEADER]) >= last:
                    done.set()

            sub = await js.subscribe(
                PRODUCER_STREAMS[head.upstream].subjects[0],
                stream=head.stream,
                cb=on_message,
                ordered_consumer=True,
            )
            await done.wait()
            await sub.unsubscribe()
        return time.perf_counter() - start, read
    finally:
        await nc.close()


def _child_rebuild(settings: Settings, url: str, shares: int, results: Any) -> None:
    """The rebuild in a process of its own, so that its peak memory is its own."""
    seen = {"read": 0.0, "printed": 0.0, "total": 0.0}

    def total(messages: int) -> None:
        seen["total"] = messages

    def progress(read: float) -> None:
        seen["read"] += read
        if seen["read"] - seen["printed"] >= max(seen["total"] / 10, 100_000):
            print(f"  rebuilt {seen['read']:,.0f} of {seen['total']:,.0f} messages", flush=True)
            seen["printed"] = seen["read"]

    outcome = asyncio.run(rebuild(settings, url, shares=shares, progress=progress, total=total))
    results.put(
        {
            "messages": outcome.messages,
            "applied": outcome.applied,
            "stored": outcome.stored,
            "seconds": outcome.seconds,
            "usage": {
                name: (usage.peak_memory_kb, usage.cpu_seconds)
                for name, usage in outcome.usage.items()
            },
        }
    )


def timed_rebuild(settings: Settings, url: str, shares: int) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    child = context.Process(target=_child_rebuild, args=(settings, url, shares, results))
    child.start()
    figures: dict[str, Any] = results.get()
    child.join()
    return figures


def cpu_seconds(pid: int) -> float:
    """A process's CPU time so far (Linux), user and system."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def usage_line(figures: dict[str, Any]) -> str:
    """Each process's peak memory and CPU time, and how busy the cores were."""
    parts = [
        f"{name} {kb / 1024:,.0f} MB, {cpu:.1f} s" for name, (kb, cpu) in figures["usage"].items()
    ]
    parts.append(f"nats-server {figures['nats_cpu']:.1f} s")
    cpu = sum(c for _, c in figures["usage"].values()) + figures["nats_cpu"]
    return (
        f"  peak RSS and CPU: {'; '.join(parts)}\n"
        f"  {cpu:.1f} CPU-seconds in {figures['seconds']:.1f} s: "
        f"{cpu / figures['seconds']:.2f} of {os.cpu_count()} cores busy"
    )


def time_compare(settings: Settings, heads_review: int) -> tuple[float, int]:
    """The comparison ``safeguard review rebuild`` ends with, here of the rebuild against
    itself: both sides read, folded and compared in full."""
    left, right = rebuilt_store(settings), rebuilt_store(settings)
    try:
        start = time.perf_counter()
        comparison = compare(left, right, heads_review)
        return time.perf_counter() - start, comparison.cases
    finally:
        left.close()
        right.close()


def one_long_case(tmp: Path, entries: int = 200, rounds: int = 50) -> dict[str, float]:
    """Median ms of reading one case of ``entries`` entries from a SQLite store."""
    reviews = Reviews(store_env(Settings(var_dir=tmp / "one-case"), "review"))
    case_id = uuid4()
    positions = dict.fromkeys(PRODUCER_STREAMS, 0)
    upstream = [s for s in CASE if not s.startswith("review.")]
    for step in range(entries):
        subject = upstream[step % len(upstream)]
        contract = decode(subject, message(subject, case_id, 7, step))
        producer = type(contract).producer
        positions[producer] += 1
        reviews.process_event(contract, Tracking(producer, positions[producer]))  # type: ignore[arg-type]
    middle = T0 + timedelta(minutes=7, seconds=entries // 2)
    timings: dict[str, list[float]] = {}

    def timed(name: str, work: Any) -> None:
        start = time.perf_counter()
        work()
        timings.setdefault(name, []).append((time.perf_counter() - start) * 1000)

    for _ in range(rounds):
        timed(
            "chronology (case read from the store)", lambda: reviews.get_case(case_id).chronology()
        )
        timed("verify (from the stored events)", lambda: reviews.verify(case_id))
        timed(
            "as_of (case read, then as_of)",
            lambda: reviews.get_case(case_id).chronology(as_of=middle),
        )
        timed("view (case read, then views.fold)", lambda: reviews.case_view(case_id))
        timed("view as_of", lambda: reviews.case_view(case_id, as_of=middle))
    recorded = len(reviews.get_case(case_id).entries)
    reviews.close()
    assert recorded == entries, recorded
    return {name: statistics.median(values) for name, values in timings.items()}


def drop_schemas(database_url: str, prefix: str) -> None:
    """The PostgreSQL schemas the benchmark's rebuilds made (each its own prefix)."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s)", (prefix,)
        ).fetchall()
        for (schema,) in rows:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


async def run(
    events: int, shares: list[int], rounds: int, with_compare: bool, database_url: str
) -> None:
    # On PostgreSQL, each rebuild writes schemas of its own prefix, all dropped at the end.
    prefix = f"bench{uuid4().hex[:8]}_"
    try:
        await _run(events, shares, rounds, with_compare, database_url, prefix)
    finally:
        if database_url:
            drop_schemas(database_url, prefix)


def _target(settings: Settings, tmp: Path, prefix: str, shares: int, round_: int) -> Settings:
    """Where one rebuild writes: a fresh directory, and on PostgreSQL a fresh schema prefix."""
    return settings.model_copy(
        update={
            "var_dir": tmp / f"var-{shares}-{round_}",
            "database_schema_prefix": f"{prefix}{shares}_{round_}_",
        }
    )


async def _run(
    events: int,
    shares: list[int],
    rounds: int,
    with_compare: bool,
    database_url: str,
    prefix: str,
) -> None:
    with temp_dir("bench-review-") as tmp, private_nats(tmp) as nats_server:
        url = nats_server.url
        settings = Settings(
            var_dir=tmp / "var", jwt_secret=JWT_SECRET, nats_url=url, database_url=database_url
        )
        store = "PostgreSQL" if database_url else "SQLite"
        nc = await connect(url, "bench-review")
        try:
            js = nc.jetstream()
            await ensure_streams(js, settings)
            start = time.perf_counter()
            counts = await publish(js, events)
        finally:
            await nc.close()
        print(
            f"published {events:,} messages ({', '.join(f'{k} {v:,}' for k, v in counts.items())})"
            f" of {-(-events // len(CASE)):,} cases in {time.perf_counter() - start:.0f} s"
            " (not timed)"
        )

        raws: list[float] = []
        readings: list[float] = []
        rebuilds: dict[int, list[dict[str, Any]]] = {n: [] for n in shares}
        for r in range(rounds):
            seconds, read = await raw_read(url)
            assert read == events, read
            raws.append(rate(events, seconds))
            seconds, read = await raw_read(url, stock=False)
            assert read == events, read
            readings.append(rate(events, seconds))
            line = f"round {r + 1}: raw read {raws[-1]:,.0f}/s ({readings[-1]:,.0f}/s"
            line += " through the rebuild's client)"
            for n in shares:
                target = _target(settings, tmp, prefix, n, r)
                assert nats_server.process is not None
                nats_before = cpu_seconds(nats_server.process.pid)
                figures = await asyncio.to_thread(timed_rebuild, target, url, n)
                figures["nats_cpu"] = cpu_seconds(nats_server.process.pid) - nats_before
                assert figures["messages"] == events, figures
                rebuilds[n].append(figures)
                line += f", rebuild in {n} share(s) {rate(events, figures['seconds']):,.0f}/s"
                line += f" ({figures['seconds']:.1f} s)"
            print(line)

        raw = statistics.median(raws)
        reading = statistics.median(readings)
        print(f"\n{events:,} events, rebuilt into {store}, median of {rounds} round(s):")
        print(f"  {'':<46} {'events/s':>9} {'us/event':>9} {'ratio':>6}")
        print(
            f"  {'raw read (ordered consumer, position parsed)':<46} {raw:>9,.0f} {1e6 / raw:>9.1f}"
        )
        name = "  the same through the rebuild's client"
        print(f"  {name:<46} {reading:>9,.0f} {1e6 / reading:>9.1f} {reading / raw:>6.2f}")
        for n, runs in rebuilds.items():
            rebuilt = statistics.median(rate(events, f["seconds"]) for f in runs)
            name = f"rebuild, {n} share(s)"
            print(f"  {name:<46} {rebuilt:>9,.0f} {1e6 / rebuilt:>9.1f} {rebuilt / raw:>6.2f}")
        ratio = rebuilt / raw
        verdict = "met" if ratio >= TARGET_RATIO else "MISSED"
        print(f"ratio rebuild/raw = {ratio:.2f} (target >= {TARGET_RATIO:.2f}: {verdict})")
        print(f"  (rebuild/raw read through the rebuild's client = {rebuilt / reading:.2f})")
        for n, runs in rebuilds.items():
            last = runs[-1]
            print(
                f"rebuild in {n} share(s), last round: {last['applied']:,.0f} messages applied, "
                f"{last['stored']:,.0f} events stored, {last['seconds']:.1f} s\n" + usage_line(last)
            )

        if with_compare:
            final = _target(settings, tmp, prefix, n, rounds - 1)
            nc = await connect(url, "bench-review")
            try:
                head = review_head(await stream_heads(nc.jetstream()))
            finally:
                await nc.close()
            seconds, cases = await asyncio.to_thread(time_compare, final, head)
            print(
                f"compare (the rebuilt store against itself, {cases:,} cases): {seconds:.1f} s, "
                f"{rate(events, seconds):,.0f} entries/s per side"
            )

    with temp_dir("bench-review-case-") as tmp:
        timings = one_long_case(tmp)
    print("\none case of 200 entries on SQLite, median of 50 (ms):")
    for name, ms in timings.items():
        print(f"  {name:<44} {ms:>7.2f}")
    total = (
        timings["chronology (case read from the store)"]
        + timings["verify (from the stored events)"]
    )
    verdict = "met" if total < TARGET_CASE_MS else "MISSED"
    print(f"chronology + verify = {total:.2f} ms (target < {TARGET_CASE_MS:.0f} ms: {verdict})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="messages on the streams")
    parser.add_argument(
        "--shares",
        type=int,
        nargs="+",
        help="rebuild in this many shares (several: one rebuild each, the last for the verdict;"
        " default: as safeguard review rebuild chooses)",
    )
    parser.add_argument("--rounds", type=int, default=0, help="default: 3, or 1 from 200,000")
    parser.add_argument("--compare", action="store_true", help="also time the comparison")
    parser.add_argument("--quick", action="store_true", help="20,000 events, 3 rounds")
    parser.add_argument(
        "--database-url",
        default="",
        help="rebuild into PostgreSQL at this URL (schemas of its own, dropped afterwards)"
        " instead of SQLite files",
    )
    args = parser.parse_args()
    print_header("bench_review")
    if args.quick:
        args.events = 20_000
    rounds = args.rounds or (3 if args.events < 200_000 else 1)
    shares = args.shares or [default_shares(args.events)]
    asyncio.run(run(args.events, shares, rounds, args.compare, args.database_url))


if __name__ == "__main__":
    main()
