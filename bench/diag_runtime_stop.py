"""Diagnostic: ServiceRuntime.stop() while intake's relay is publishing a backlog.

Found while benchmarking the relay (cancelling OutboxRelay.run() and then closing the app
crashed the process). Each iteration runs in a child process, so that a crash or a hang is
observed from outside: the child starts an intake ServiceRuntime on a copy of a seeded SQLite
store against a fresh INTAKE stream, waits until the relay has published its first batch, waits
a few more milliseconds (varied per iteration), then calls ``await runtime.stop()``. Outcomes:
``stopped`` (returned), ``HUNG`` (stop() had not returned after 10 s; the child prints where the
relay task is stuck), ``CRASHED`` (killed by a signal, e.g. SIGSEGV).

    .venv/bin/python bench/diag_runtime_stop.py [--iterations 20] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from _common import JWT_SECRET, print_header, private_nats, seed_intake, temp_dir

from services.intake.application import Intake
from shared.bus import connect
from shared.settings import Settings
from shared.store import store_env

STOP_TIMEOUT = 10.0


async def child(var_dir: Path, nats_url: str, delay: float) -> None:
    from services.intake.entrypoint import SPEC
    from shared.runtime import ServiceRuntime

    settings = Settings(var_dir=var_dir, nats_url=nats_url, jwt_secret=JWT_SECRET)
    runtime = ServiceRuntime(SPEC, settings)
    await runtime.start()
    deadline = time.monotonic() + 10
    while runtime.relay is None or runtime.relay.status.published_position == 0:
        if time.monotonic() > deadline:
            print("relay published nothing within 10 s", flush=True)
            os._exit(4)
        await asyncio.sleep(0.001)
    await asyncio.sleep(delay)
    at = runtime.relay.status.published_position
    stopper = asyncio.create_task(runtime.stop())
    done, _ = await asyncio.wait({stopper}, timeout=STOP_TIMEOUT)
    if not done:
        print(f"stop() still running after {STOP_TIMEOUT:g} s (relay at {at}):", flush=True)
        for supervised in runtime.supervisor.tasks.values():
            task = supervised.task
            if task is not None and not task.done():
                print(f"  {task!r}"[:300], flush=True)
                task.print_stack(limit=3, file=sys.stdout)
        sys.stdout.flush()
        os._exit(3)
    print(f"stopped at position {at}", flush=True)


def parent(iterations: int, cases: int) -> None:
    with temp_dir("diag-stop-") as tmp, private_nats(tmp) as nats_server:
        seed = Settings(var_dir=tmp / "seed", jwt_secret=JWT_SECRET)
        intake = Intake(store_env(seed, "intake"))
        seed_intake(intake, cases)
        intake.close()
        print(f"seeded {cases} disclosures; {iterations} start/stop iterations")
        outcomes: Counter[str] = Counter()
        for i in range(iterations):
            var_dir = tmp / f"run{i}"
            var_dir.mkdir()
            for f in seed.var_dir.glob("intake.sqlite*"):
                shutil.copy(f, var_dir / f.name)
            asyncio.run(delete_stream(nats_server.url))
            delay = (i % 10) * 0.002
            args = [sys.executable, __file__, "--child", str(var_dir), nats_server.url, str(delay)]
            process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            try:
                out, _ = process.communicate(timeout=STOP_TIMEOUT + 20)
            except subprocess.TimeoutExpired:
                process.kill()
                out, _ = process.communicate()
            text = out.decode(errors="replace").strip()
            if process.returncode == 0:
                outcome = "stopped"
            elif process.returncode == 3:
                outcome = "HUNG"
            elif process.returncode < 0:
                outcome = f"CRASHED ({signal.Signals(-process.returncode).name})"
            else:
                outcome = f"exit {process.returncode}"
            outcomes[outcome] += 1
            print(f"  {i:2d} delay {delay * 1000:4.0f} ms: {outcome}")
            if outcome != "stopped" and text:
                print("     " + text.replace("\n", "\n     "))
        print("outcomes:", dict(outcomes))


async def delete_stream(url: str) -> None:
    nc = await connect(url, "diag-stop")
    with contextlib.suppress(Exception):
        await nc.jetstream().delete_stream("INTAKE")
    await nc.close()


def main() -> None:
    logging.getLogger("shared.bus").setLevel(logging.ERROR)  # "disconnected" at close
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        asyncio.run(child(Path(sys.argv[2]), sys.argv[3], float(sys.argv[4])))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--cases", type=int, default=3000, help="backlog to publish")
    parser.add_argument("--quick", action="store_true", help="8 iterations, 1,500 cases")
    args = parser.parse_args()
    print_header("diag_runtime_stop")
    if args.quick:
        args.iterations, args.cases = 8, 1500
    parent(args.iterations, args.cases)


if __name__ == "__main__":
    main()
