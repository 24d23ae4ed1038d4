"""End-to-end latency: a disclosure POSTed to intake, until review shows referral's assessment.

Starts a private nats-server and the three services as real processes
(``safeguard serve intake|referral|review``, SQLite under a temp dir), waits for each /readyz,
runs a few unmeasured warm-up cases, then POSTs invented disclosures to intake at a steady rate
(open loop: each at its scheduled time, whatever the responses do). For each case it measures
the time from intake's 201 response to the first ``GET /cases/{id}`` on review (polled every
``--poll-ms``, concurrently for every case in flight) that holds an ``assessment_recorded``
entry. The services are stopped with SIGINT at the end.

    .venv/bin/python bench/bench_e2e.py [--rate 50] [--seconds 20] [--poll-ms 2] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from _common import JWT_SECRET, print_header, private_nats, temp_dir

from shared.bus import connect
from shared.contracts.streams import PRODUCER_STREAMS
from shared.embedded_nats import free_port
from shared.identity import Role, TokenService
from shared.settings import SERVICE_NAMES, Settings

SAFEGUARD = Path(sys.executable).parent / "safeguard"
CASE_TIMEOUT = 10.0
WINDOW = 2.0  # seconds of sending per row of the timeline


def start_services(tmp: Path, nats_url: str, log_level: str) -> tuple[dict, dict]:
    ports = {name: free_port() for name in SERVICE_NAMES}
    env = {
        **os.environ,
        "NATS_URL": nats_url,
        "SAFEGUARD_VAR_DIR": str(tmp / "var"),
        "SAFEGUARD_JWT_SECRET": JWT_SECRET,
        "SAFEGUARD_LOG_LEVEL": log_level,
        **{f"SAFEGUARD_{name.upper()}_PORT": str(port) for name, port in ports.items()},
    }
    processes = {}
    for name in SERVICE_NAMES:
        log = open(tmp / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        processes[name] = (
            subprocess.Popen(
                [str(SAFEGUARD), "serve", name], env=env, stdout=log, stderr=subprocess.STDOUT
            ),
            log,
        )
    return processes, {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}


def stop_services(processes: dict) -> dict[str, int | None]:
    codes: dict[str, int | None] = {}
    for process, _ in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
    for name, (process, log) in processes.items():
        try:
            codes[name] = process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            codes[name] = process.wait()
        log.close()
    return codes


async def wait_ready(http: httpx.AsyncClient, bases: dict[str, str], processes: dict) -> None:
    deadline = time.monotonic() + 60
    for name, base in bases.items():
        while True:
            if processes[name][0].poll() is not None:
                msg = f"{name} exited with {processes[name][0].returncode}"
                raise RuntimeError(msg)
            try:
                if (await http.get(f"{base}/readyz")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                msg = f"{name} not ready within 60s"
                raise RuntimeError(msg)
            await asyncio.sleep(0.1)


class Probe:
    """One case: POST it, then poll review until the assessment shows."""

    def __init__(self, http: httpx.AsyncClient, bases: dict[str, str], tokens: dict[str, str]):
        self.http = http
        self.bases = bases
        self.staff = {"Authorization": f"Bearer {tokens['staff']}"}
        self.dsl = {"Authorization": f"Bearer {tokens['dsl']}"}
        self.get_errors: list[str] = []

    async def case(self, i: int, poll: float) -> dict[str, Any]:
        body = {
            "school": "OAK",
            "disclosure_route": "peer",
            "summary": f"Invented disclosure number {i} for an end-to-end benchmark",
        }
        sent = time.perf_counter()
        try:
            response = await self.http.post(
                f"{self.bases['intake']}/cases", json=body, headers=self.staff
            )
        except httpx.HTTPError as e:
            return {"error": f"POST {type(e).__name__}", "post": time.perf_counter() - sent}
        created = time.perf_counter()
        created_wall = time.time()
        if response.status_code != 201:
            return {"error": f"POST {response.status_code}"}
        case_id = response.json()["case_id"]
        url = f"{self.bases['review']}/cases/{case_id}"
        polls = 0
        while created + CASE_TIMEOUT > time.perf_counter():
            polls += 1
            try:
                got = await self.http.get(url, headers=self.dsl)
            except httpx.HTTPError as e:
                self.get_errors.append(type(e).__name__)
                await asyncio.sleep(poll)
                continue
            if got.status_code == 200 and any(
                e["kind"] == "assessment_recorded" for e in got.json()["entries"]
            ):
                seen = time.perf_counter()
                return {
                    "post": created - sent,
                    "latency": seen - created,
                    "polls": polls,
                    "case_id": case_id,
                    "created_wall": created_wall,
                    "seen_wall": created_wall + (seen - created),
                }
            await asyncio.sleep(poll)
        return {"error": "timeout", "post": created - sent}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def stream_times(nats_url: str) -> dict[str, dict[str, float]]:
    """When each case's message was stored in INTAKE and in REFERRAL (broker clock)."""
    nc = await connect(nats_url, "bench-e2e")
    js = nc.jetstream()
    times: dict[str, dict[str, float]] = {}
    try:
        for producer in ("intake", "referral"):
            stream = PRODUCER_STREAMS[producer].name
            info = await js.stream_info(stream)
            stored = times[producer] = {}
            for seq in range(info.state.first_seq, info.state.last_seq + 1):
                msg = await js.get_msg(stream, seq)
                if msg.time is not None and msg.data:
                    stored[json.loads(msg.data)["case_id"]] = msg.time.timestamp()
    finally:
        await nc.close()
    return times


def print_stages(results: list[dict[str, Any]], times: dict[str, dict[str, float]]) -> None:
    stages: dict[str, list[float]] = {
        "201 -> stored in INTAKE (intake relay)": [],
        "INTAKE -> REFERRAL (referral consumer + relay)": [],
        "REFERRAL -> seen on review (review + poll)": [],
    }
    for r in results:
        intake = times["intake"].get(r.get("case_id", ""))
        referral = times["referral"].get(r.get("case_id", ""))
        if intake is None or referral is None:
            continue
        for name, value in zip(
            stages,
            (intake - r["created_wall"], referral - intake, r["seen_wall"] - referral),
            strict=True,
        ):
            stages[name].append(value * 1000)
    print("where the time goes (ms; broker timestamps, same host clock):")
    for name, values in stages.items():
        if values:
            print(
                f"  {name:<47} p50 {percentile(values, 50):6.1f}  p99 {percentile(values, 99):6.1f}"
            )


async def drive(
    bases: dict[str, str], processes: dict, nats_url: str, args: argparse.Namespace
) -> None:
    tokens_service = TokenService(Settings(jwt_secret=JWT_SECRET))
    tokens = {
        "staff": tokens_service.issue("staff.bench", Role.STAFF, ["OAK"]),
        "dsl": tokens_service.issue("dsl.bench", Role.DSL, ["OAK"]),
    }
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(timeout=10.0, limits=limits) as http:
        await wait_ready(http, bases, processes)
        probe = Probe(http, bases, tokens)
        poll = args.poll_ms / 1000
        warm = [await probe.case(-i, poll) for i in range(1, args.warmup + 1)]
        if any("error" in w for w in warm):
            msg = f"warm-up failed: {warm}"
            raise RuntimeError(msg)
        print(f"ready; {args.warmup} warm-up cases done (not counted)")

        count = round(args.rate * args.seconds)
        interval = 1 / args.rate
        start = time.perf_counter()
        lag = 0.0

        async def scheduled(i: int) -> dict[str, Any]:
            nonlocal lag
            await asyncio.sleep(max(0.0, start + i * interval - time.perf_counter()))
            lag = max(lag, time.perf_counter() - (start + i * interval))
            result = await probe.case(i, poll)
            result["window"] = int(i * interval // WINDOW)
            return result

        results = await asyncio.gather(*(scheduled(i) for i in range(count)))
        elapsed = time.perf_counter() - start
        report(results, probe, count, elapsed, lag, args)
        print_stages(results, await stream_times(nats_url))
        if args.burst:
            await burst(probe, args.burst)


async def burst(probe: Probe, count: int) -> None:
    """``count`` POSTs for one school sent at once (not part of the latency figures)."""

    async def post(i: int) -> tuple[str, float]:
        body = {"school": "OAK", "disclosure_route": "peer", "summary": f"Invented burst {i}"}
        t0 = time.perf_counter()
        try:
            response = await probe.http.post(
                f"{probe.bases['intake']}/cases", json=body, headers=probe.staff
            )
            outcome = str(response.status_code)
        except httpx.HTTPError as e:
            outcome = type(e).__name__
        return outcome, (time.perf_counter() - t0) * 1000

    done = await asyncio.gather(*(post(i) for i in range(count)))
    outcomes = [o for o, _ in done]
    print(
        f"burst of {count} concurrent POST /cases: "
        f"{ {o: outcomes.count(o) for o in sorted(set(outcomes))} }, "
        f"slowest {max(ms for _, ms in done):.0f} ms"
    )


def report(
    results: list[dict[str, Any]],
    probe: Probe,
    count: int,
    elapsed: float,
    lag: float,
    args: argparse.Namespace,
) -> None:
    ok = [r for r in results if "latency" in r]
    errors = [r["error"] for r in results if "error" in r]
    latencies = [r["latency"] * 1000 for r in ok]
    posts = [r["post"] * 1000 for r in results if "post" in r]
    polls = sum(r["polls"] for r in ok)
    print(
        f"{count} cases POSTed at {args.rate:g}/s over {elapsed:.1f}s "
        f"(worst send lag {lag * 1000:.0f} ms); {len(ok)} seen on review, {len(errors)} not"
    )
    if errors:
        print(f"  failures: { {e: errors.count(e) for e in sorted(set(errors))} }")
    if not latencies:
        return
    p99 = percentile(latencies, 99)
    print(
        f"201 -> assessment on review (ms): p50 {percentile(latencies, 50):.1f}  "
        f"p90 {percentile(latencies, 90):.1f}  p99 {p99:.1f}  max {max(latencies):.1f}  "
        f"mean {statistics.fmean(latencies):.1f}"
    )
    tenth = max(1, len(posts) // 10)
    print(
        f"POST /cases (ms): p50 {percentile(posts, 50):.1f}  p99 {percentile(posts, 99):.1f}; "
        f"mean of first tenth {statistics.fmean(posts[:tenth]):.1f}, "
        f"of last tenth {statistics.fmean(posts[-tenth:]):.1f}"
    )
    print(f"timeline ({WINDOW:g} s windows of sending): cases, failed, POST p50, e2e p50/p99 (ms)")
    for w in sorted({r["window"] for r in results}):
        rows = [r for r in results if r["window"] == w]
        post = [r["post"] * 1000 for r in rows if "post" in r]
        e2e = [r["latency"] * 1000 for r in rows if "latency" in r]
        failed = sum("error" in r for r in rows)
        e2e_text = (
            f"{percentile(e2e, 50):7.1f} / {percentile(e2e, 99):7.1f}"
            if e2e
            else "      - /       -"
        )
        post_text = f"{percentile(post, 50):8.1f}" if post else "       -"
        print(f"  {w * WINDOW:5.0f}s {len(rows):4d} {failed:4d} {post_text} {e2e_text}")
    print(
        f"review GETs while waiting: {polls} ({polls / elapsed:.0f}/s), "
        f"{len(probe.get_errors)} failed {sorted(set(probe.get_errors))}"
    )
    met = "met" if p99 < 100 and not errors else "MISSED"
    print(f"target p99 < 100 ms: {met}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=50.0, help="disclosures per second")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--poll-ms", type=float, default=2.0, help="review poll interval")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument(
        "--burst", type=int, default=0, help="then POST this many at once (diagnostic)"
    )
    parser.add_argument("--log-level", default="INFO", help="the services' SAFEGUARD_LOG_LEVEL")
    parser.add_argument("--keep-logs", action="store_true", help="print the services' log tails")
    parser.add_argument("--quick", action="store_true", help="5 seconds instead of 20")
    args = parser.parse_args()
    print_header("bench_e2e")
    logging.getLogger("shared.bus").setLevel(logging.ERROR)  # "disconnected" at close
    if args.quick:
        args.seconds = 5.0
    with temp_dir("bench-e2e-") as tmp, private_nats(tmp) as nats_server:
        processes, bases = start_services(tmp, nats_server.url, args.log_level)
        try:
            asyncio.run(drive(bases, processes, nats_server.url, args))
        finally:
            codes = stop_services(processes)
            print(f"services stopped with SIGINT: exit codes {codes}")
            if args.keep_logs or any(codes.values()):
                for name in SERVICE_NAMES:
                    tail = (tmp / f"{name}.log").read_text(errors="replace").splitlines()[-15:]
                    print(f"--- {name}.log (tail)", *tail, sep="\n")


if __name__ == "__main__":
    main()
