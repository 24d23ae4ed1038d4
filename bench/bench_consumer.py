"""ExactlyOnceConsumer throughput against raw nats-py consumption of the same stream.

N invented IncidentReportedV1 messages are published to INTAKE as intake's relay would (headers
Nats-Msg-Id, Safeguard-Position, Safeguard-Previous-Position; positions 2, 4, 6, ... as in a
real log where half the events are private), not timed. Then, one after the other:

* exactly-once: a referral ServiceRuntime (SQLite, its own relay publishing its assessments
  included) is started; timed from start() until its consumer's status.applied == N;
* raw, same pull settings: a nats-py pull subscription on its own durable, fetching one
  message at a time with max_ack_pending=1 as the exactly-once consumer does, that just acks;
* raw, batched pull: the same with fetch batches of 100 and no ack-pending limit (the ceiling).

    .venv/bin/python bench/bench_consumer.py [--n 3000] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import logging
import pstats
import time
from datetime import UTC, datetime
from typing import Any
from unittest import mock
from uuid import uuid4

from _common import JWT_SECRET, print_header, private_nats, rate, temp_dir
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from services.referral.entrypoint import SPEC as REFERRAL
from shared.bus import connect, ensure_streams
from shared.contracts.intake import DisclosureRoute, IncidentReportedV1
from shared.contracts.streams import POSITION_HEADER, PREVIOUS_HEADER, PRODUCER_STREAMS
from shared.relay import OutboxRelay, RelayStatus
from shared.runtime import ServiceRuntime
from shared.settings import Settings

TIMEOUT = 90.0
STREAM = PRODUCER_STREAMS["intake"].name


def invented_incident(i: int) -> IncidentReportedV1:
    now = datetime.now(UTC)
    return IncidentReportedV1(
        case_id=uuid4(),
        school="OAK",
        reference=f"OAK-2026-{i:04d}",
        disclosure_route=DisclosureRoute.PEER,
        summary=f"Invented disclosure number {i} for a benchmark",
        recorded_by="staff.bench",
        recorded_by_role="staff",
        occurred_at=now,
        recorded_at=now,
    )


async def publish_as_relay(js: Any, n: int) -> None:
    futures = []
    for i in range(n):
        position, previous = (i + 1) * 2, i * 2
        headers = {
            "Nats-Msg-Id": f"intake:{position}",
            POSITION_HEADER: str(position),
            PREVIOUS_HEADER: str(previous) if previous else "",
        }
        body = invented_incident(i + 1).model_dump_json().encode()
        futures.append(await js.publish_async(IncidentReportedV1.subject, body, headers=headers))
    await asyncio.gather(*futures)


async def wait_until(probe: Any, what: str) -> None:
    deadline = time.perf_counter() + TIMEOUT
    while not probe():
        if time.perf_counter() > deadline:
            msg = f"timed out waiting for {what}"
            raise RuntimeError(msg)
        await asyncio.sleep(0.002)


class IdleRelay:
    """Stands in for referral's own relay in the diagnostic run: publishes nothing."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.status = RelayStatus()

    async def run(self, work: object = None) -> None:
        await asyncio.Event().wait()


class CountingRelay(OutboxRelay):
    """The product relay, counting the batches it publishes (each records its position)."""

    batches = 0

    def _record_position(self, position: int) -> None:
        self.batches += 1
        super()._record_position(position)


async def time_exactly_once(settings: Settings, n: int, *, relay: bool) -> dict[str, float]:
    with mock.patch("shared.runtime.OutboxRelay", CountingRelay if relay else IdleRelay):
        return await _time_exactly_once(settings, n)


async def _time_exactly_once(settings: Settings, n: int) -> dict[str, float]:
    runtime = ServiceRuntime(REFERRAL, settings)
    consumer = runtime.consumers[0]
    apply_seconds = 0.0
    apply = consumer.apply

    def timed_apply(*args: Any) -> Any:
        nonlocal apply_seconds
        t0 = time.perf_counter()
        try:
            return apply(*args)
        finally:
            apply_seconds += time.perf_counter() - t0

    consumer.apply = timed_apply  # type: ignore[method-assign]
    start = time.perf_counter()
    await runtime.start()
    try:
        await wait_until(lambda: consumer.status.applied >= 1, "the first message")
        first = time.perf_counter()
        await wait_until(lambda: consumer.status.applied >= n, "all messages")
        end = time.perf_counter()
    finally:
        await stop_runtime(runtime)
    if consumer.status.applied != n or consumer.status.failures:
        msg = f"exactly-once consumer: {consumer.status}"
        raise RuntimeError(msg)
    batches = getattr(runtime.relay, "batches", 0)
    return {
        "total": end - start,
        "first": first - start,
        "apply": apply_seconds,
        "relay_batches": batches,
    }


async def stop_runtime(runtime: ServiceRuntime) -> None:
    """runtime.stop(), bounded: on Python 3.11 it can hang (see bench/diag_runtime_stop.py)."""
    stopping = asyncio.create_task(runtime.stop())
    done, _ = await asyncio.wait({stopping}, timeout=15)
    if not done:
        print("warning: runtime.stop() hung for 15 s; cancelling its tasks again")
        for supervised in runtime.supervisor.tasks.values():
            if supervised.task is not None:
                supervised.task.cancel()
        await asyncio.wait({stopping}, timeout=5)


async def time_raw(url: str, n: int, durable: str, *, batch: int) -> dict[str, float]:
    nc = await connect(url, f"bench-{durable}")
    count = 0
    first = 0.0
    start = time.perf_counter()
    try:
        subscription = await nc.jetstream().pull_subscribe(
            "intake.>",
            durable=durable,
            stream=STREAM,
            config=ConsumerConfig(
                durable_name=durable,
                ack_policy=AckPolicy.EXPLICIT,
                deliver_policy=DeliverPolicy.ALL,
                ack_wait=30,
                max_ack_pending=1 if batch == 1 else -1,
                max_deliver=-1,
            ),
        )
        async with asyncio.timeout(TIMEOUT):
            while count < n:
                for msg in await subscription.fetch(batch, timeout=5.0):
                    await msg.ack()
                    count += 1
                    if count == 1:
                        first = time.perf_counter()
        end = time.perf_counter()
    finally:
        await nc.close()
    return {"total": end - start, "first": first - start}


def apply_alone(settings: Settings, n: int) -> dict[str, float]:
    """The consumer's apply step called directly, in one thread, under cProfile."""
    runtime = ServiceRuntime(REFERRAL, settings)
    consumer = runtime.consumers[0]
    bodies = [invented_incident(i + 1).model_dump_json().encode() for i in range(n)]
    profile = cProfile.Profile()
    t0 = time.perf_counter()
    profile.enable()
    for i, body in enumerate(bodies):
        consumer.apply(IncidentReportedV1.subject, body, (i + 1) * 2, i * 2)
    profile.disable()
    elapsed = time.perf_counter() - t0
    runtime.app.close()
    commit = sum(
        row[3]  # cumulative seconds
        for func, row in pstats.Stats(profile).stats.items()  # type: ignore[attr-defined]
        if func[2] == "<method 'commit' of 'sqlite3.Connection' objects>"
    )
    return {"apply": elapsed / n, "commit": commit / n, "n": n}


async def run(n: int) -> None:
    with temp_dir("bench-consumer-") as tmp, private_nats(tmp) as nats_server:
        settings = Settings(var_dir=tmp / "var", nats_url=nats_server.url, jwt_secret=JWT_SECRET)
        nc = await connect(nats_server.url, "bench-consumer")
        js = nc.jetstream()
        await ensure_streams(js, settings)
        t0 = time.perf_counter()
        await publish_as_relay(js, n)
        held = (await js.stream_info(STREAM)).state.messages
        print(f"published {held} messages as the relay would in {time.perf_counter() - t0:.1f}s")

        results = {
            "exactly-once (referral)": await time_exactly_once(settings, n, relay=True),
            "raw, same pull settings": await time_raw(nats_server.url, n, "bench-raw-1", batch=1),
            "raw, batched pull (100)": await time_raw(
                nats_server.url, n, "bench-raw-100", batch=100
            ),
        }
        # Diagnostic: the same consumer with referral's own relay idle, on a fresh store and
        # a fresh durable, to show what publishing each assessment costs the consumer.
        await js.delete_consumer(STREAM, "referral-from-intake")
        await nc.close()
        quiet = settings.model_copy(update={"var_dir": tmp / "var-relay-off"})
        results["exactly-once, relay off"] = await time_exactly_once(quiet, n, relay=False)
        alone = apply_alone(settings.model_copy(update={"var_dir": tmp / "var-alone"}), 500)

    print(f"\n{n} messages ('from first' excludes connecting and the first fetch):")
    print(f"  {'':<26} {'msgs/s':>8} {'from first':>11} {'us/msg':>8}")
    for name, r in results.items():
        steady = rate(n - 1, r["total"] - r["first"])
        print(
            f"  {name:<26} {rate(n, r['total']):>8,.0f} {steady:>11,.0f} "
            f"{r['total'] / n * 1e6:>8.0f}"
        )
    print("exactly-once: apply (tracking read, decode, process_event, commit; in a thread):")
    for name in ("exactly-once (referral)", "exactly-once, relay off"):
        r = results[name]
        print(f"  {name:<26} {r['apply'] / n * 1e6:>5.0f} us/msg of {r['total'] / n * 1e6:.0f}")
    print(
        f"  {'apply alone (no NATS)':<26} {alone['apply'] * 1e6:>5.0f} us/msg, of which "
        f"{alone['commit'] * 1e6:.0f} in SQLite commit (cProfile, {alone['n']} messages)"
    )
    eo = results["exactly-once (referral)"]
    print(
        f"referral's relay published its {n} assessments in {eo['relay_batches']} batches "
        "(one SQLite commit of the relay position each)"
    )
    same = rate(n, results["raw, same pull settings"]["total"])
    batched = rate(n, results["raw, batched pull (100)"]["total"])
    exactly_once = rate(n, eo["total"])
    print(f"\nratio exactly-once / raw (same pull settings) = {exactly_once / same:.2f}")
    print(f"ratio exactly-once / raw (batched pull)       = {exactly_once / batched:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000, help="messages to publish and consume")
    parser.add_argument("--quick", action="store_true", help="500 messages")
    args = parser.parse_args()
    print_header("bench_consumer")
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("shared.bus").setLevel(logging.ERROR)  # "disconnected" at close
    asyncio.run(run(500 if args.quick else args.n))


if __name__ == "__main__":
    main()
