"""OutboxRelay throughput against raw nats-py ``js.publish_async`` of the same payloads.

N invented disclosures are stored in an Intake application on SQLite (not timed). Each round
then times, on a fresh INTAKE stream (shared.bus.stream_config) of a private nats-server:

* relay: OutboxRelay.run() from an empty stream until its published position is the last
  disclosure (on a fresh copy of the seeded SQLite file, so every round starts from scratch);
* raw:   js.publish_async of the same contract JSON bytes on the same subjects, all acks awaited.

Breakdown rows (same round) say where the relay's time goes: reading the notification log,
mapping events to contract JSON, and raw publishing with the relay's headers, pipelined the
relay's way (one batch of acks awaited at a time) or all at once.

    .venv/bin/python bench/bench_relay.py [--n 5000] [--rounds 3] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import shutil
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from _common import JWT_SECRET, median, print_header, private_nats, rate, seed_intake, temp_dir
from eventsourcing.utils import get_topic
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from services.intake.adapters.contracts import PUBLISHED, to_contract
from services.intake.application import Intake
from shared.bus import connect, stream_config
from shared.contracts.streams import POSITION_HEADER, PREVIOUS_HEADER, PRODUCER_STREAMS
from shared.relay import Batch, OutboxRelay
from shared.settings import Settings
from shared.store import store_env

SPEC = PRODUCER_STREAMS["intake"]
TIMEOUT = 60.0


async def fresh_stream(js: JetStreamContext, settings: Settings) -> None:
    with contextlib.suppress(NotFoundError):
        await js.delete_stream(SPEC.name)
    await js.add_stream(stream_config(SPEC, settings))


async def stream_count(js: JetStreamContext) -> int:
    return (await js.stream_info(SPEC.name)).state.messages


def copy_store(seed_dir: Path, dest: Path) -> None:
    dest.mkdir(parents=True)
    for f in seed_dir.glob("intake.sqlite*"):
        shutil.copy(f, dest / f.name)


class TimedRelay(OutboxRelay):
    """The product relay, plus an event set when it reaches ``last`` (no polling loop)."""

    def __init__(self, *args: Any, last: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.last = last
        self.reached = asyncio.Event()
        self.select_seconds = 0.0
        self.record_seconds = 0.0
        select = self.app.recorder.select_notifications

        def timed_select(*a: Any, **kw: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return select(*a, **kw)
            finally:
                self.select_seconds += time.perf_counter() - t0

        self.app.recorder.select_notifications = timed_select  # type: ignore[method-assign]

    async def _send_batch(self, position: int) -> Batch | None:
        if self.reached.is_set():
            # Park without a worker thread: the benchmark closes the app itself afterwards.
            await asyncio.get_running_loop().create_future()
        return await super()._send_batch(position)

    async def _settle(self, batch: Batch) -> int:
        settled = await super()._settle(batch)
        if settled >= self.last:
            self.reached.set()
        return settled

    def _record_position(self, position: int) -> None:
        t0 = time.perf_counter()
        try:
            super()._record_position(position)
        finally:
            self.record_seconds += time.perf_counter() - t0


async def time_relay(
    js: JetStreamContext, settings: Settings, last: int, parts: dict[str, list[float]]
) -> float:
    intake = Intake(store_env(settings, "intake"))
    try:
        relay = TimedRelay(
            intake,
            "intake",
            js,
            to_contract,
            batch_size=settings.relay_batch_size,
            poll_seconds=settings.relay_poll_seconds,
            topics=[get_topic(cls) for cls in PUBLISHED],  # as ServiceRuntime does
            last=last,
        )
        start = time.perf_counter()
        task = asyncio.create_task(relay.run())
        try:
            await asyncio.wait_for(relay.reached.wait(), TIMEOUT)
        except TimeoutError:
            msg = f"relay stopped at {relay.status.published_position} of {last}"
            raise RuntimeError(msg) from None
        elapsed = time.perf_counter() - start
        parts.setdefault("select", []).append(relay.select_seconds)
        parts.setdefault("record", []).append(relay.record_seconds)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return elapsed
    finally:
        intake.close()


Payload = tuple[int, str, bytes]


async def time_raw(
    js: JetStreamContext, payloads: list[Payload], *, relay_headers: bool, batch: int = 0
) -> float:
    """Publish ``payloads``; with ``batch``, await each batch's acks before the next."""
    start = time.perf_counter()
    futures = []
    previous = 0
    for position, subject, body in payloads:
        if relay_headers:
            headers = {
                "Nats-Msg-Id": f"intake:{position}",
                POSITION_HEADER: str(position),
                PREVIOUS_HEADER: str(previous) if previous else "",
            }
            if previous:
                headers["Nats-Expected-Last-Msg-Id"] = f"intake:{previous}"
            futures.append(await js.publish_async(subject, body, headers=headers, stream=SPEC.name))
        else:
            futures.append(await js.publish_async(subject, body))
        previous = position
        if batch and len(futures) >= batch:
            await asyncio.gather(*futures)
            futures = []
    await asyncio.gather(*futures)
    return time.perf_counter() - start


def map_log(intake: Intake, batch_size: int) -> tuple[float, float, list[Payload]]:
    """The relay's mapping of the whole log (every notification decoded, public ones turned
    into contract JSON): its seconds, the seconds spent on private events, and the payloads."""
    mapped = private = 0.0
    payloads: list[Payload] = []
    position = 0
    while notifications := intake.recorder.select_notifications(
        start=position, limit=batch_size, inclusive_of_start=False
    ):
        for n in notifications:
            t0 = time.perf_counter()
            contract = to_contract(intake.mapper.to_domain_event(n))
            if contract is not None:
                payloads.append((n.id, contract.subject, contract.model_dump_json().encode()))
            elapsed = time.perf_counter() - t0
            mapped += elapsed
            if contract is None:
                private += elapsed
        position = notifications[-1].id
    return mapped, private, payloads


async def run(n: int, rounds: int, batch_size: int | None) -> None:
    with temp_dir("bench-relay-") as tmp, private_nats(tmp) as nats_server:
        seed_settings = Settings(var_dir=tmp / "seed", jwt_secret=JWT_SECRET)
        if batch_size:
            seed_settings = seed_settings.model_copy(update={"relay_batch_size": batch_size})
        t0 = time.perf_counter()
        seed = Intake(store_env(seed_settings, "intake"))
        seed_intake(seed, n)
        batch_size = seed_settings.relay_batch_size
        map_s, private_s, payloads = map_log(seed, batch_size)
        notifications = seed.recorder.max_notification_id() or 0
        seed.close()
        last = payloads[-1][0]
        per_batch = len(payloads) * batch_size / notifications
        print(
            f"seeded {n} disclosures ({notifications} notifications, {len(payloads)} public) "
            f"on SQLite in {time.perf_counter() - t0:.1f}s (not timed)"
        )
        print(f"relay batch_size={batch_size} notifications, ~{per_batch:.0f} messages per batch")

        nc = await connect(nats_server.url, "bench-relay")
        js = nc.jetstream()
        results: dict[str, list[float]] = {}
        parts: dict[str, list[float]] = {}

        async def measure(name: str, timed: Callable[[], Awaitable[float]]) -> None:
            await fresh_stream(js, seed_settings)
            seconds = await timed()
            count = await stream_count(js)
            if count != len(payloads):
                msg = f"{name}: stream holds {count} messages, expected {len(payloads)}"
                raise RuntimeError(msg)
            results.setdefault(name, []).append(seconds)

        try:
            for r in range(rounds):
                settings = seed_settings.model_copy(update={"var_dir": tmp / f"round{r}"})
                copy_store(seed_settings.var_dir, settings.var_dir)
                await measure("relay", lambda s=settings: time_relay(js, s, last, parts))
                await measure("raw", lambda: time_raw(js, payloads, relay_headers=False))
                await measure(
                    "raw + relay headers",
                    lambda: time_raw(js, payloads, relay_headers=True),
                )
                await measure(
                    "raw + relay headers, batched",
                    lambda: time_raw(js, payloads, relay_headers=True, batch=round(per_batch)),
                )
                print(
                    f"round {r + 1}: "
                    + ", ".join(
                        f"{k} {rate(len(payloads), v[-1]):,.0f}/s" for k, v in results.items()
                    )
                )
        finally:
            await nc.close()

        count = len(payloads)
        relay = rate(count, median(results["relay"]))
        raw = rate(count, median(results["raw"]))
        with_headers = rate(count, median(results["raw + relay headers"]))
        print(f"\n{count} events, median of {rounds} rounds:")
        print(f"  {'':<30} {'events/s':>9} {'us/event':>9}")
        for name, seconds in results.items():
            t = median(seconds)
            print(f"  {name:<30} {rate(count, t):>9,.0f} {t / count * 1e6:>9.1f}")
        print("relay breakdown (us per published event):")
        rows = {
            "log read (select, in thread)": median(parts["select"]),
            "event -> contract JSON": map_s,
            "publish with relay headers": median(results["raw + relay headers"]),
            "record position (in thread)": median(parts["record"]),
        }
        for name, t in rows.items():
            print(f"  {name:<30} {t / count * 1e6:>9.1f}")
            if name == "event -> contract JSON":
                print(f"  {'  of which private events':<30} {private_s / count * 1e6:>9.1f}")
        rest = median(results["relay"]) - sum(rows.values())
        print(f"  {'rest (loop, thread hops)':<30} {rest / count * 1e6:>9.1f}")
        ratio = relay / raw
        verdict = "met" if ratio >= 0.5 else "MISSED"
        print(f"\nratio relay/raw = {ratio:.2f} (target >= 0.5: {verdict})")
        print(f"ratio relay/(raw + relay headers) = {relay / with_headers:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000, help="disclosures to store and publish")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--batch-size", type=int, help="relay batch size (default: the product's setting)"
    )
    parser.add_argument("--quick", action="store_true", help="1,000 disclosures, 2 rounds")
    args = parser.parse_args()
    print_header("bench_relay")
    logging.getLogger("shared.bus").setLevel(logging.ERROR)  # "disconnected" at close
    if args.quick:
        args.n, args.rounds = 1000, 2
    asyncio.run(run(args.n, args.rounds, args.batch_size))


if __name__ == "__main__":
    main()
