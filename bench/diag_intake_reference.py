"""Diagnostic: what one disclosure costs intake as its school's case count grows, and under
concurrent requests (as uvicorn's thread pool runs ``POST /cases``).

In process, SQLite in a temp dir, no NATS. Part 1 records ``--cases`` disclosures for one school
in one thread and prints the mean cost per disclosure for each block of ``--block``. Part 2
records ``--concurrent`` disclosures from 1 and then from ``--threads`` threads, each on a fresh
store, counting the optimistic-concurrency conflicts (``IntegrityError`` from ``save``) and the
requests that give up (``RuntimeError`` after 10 attempts, a 500 over HTTP).

    .venv/bin/python bench/diag_intake_reference.py [--cases 1500] [--quick]
"""

from __future__ import annotations

import argparse
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from _common import JWT_SECRET, print_header, temp_dir
from eventsourcing.persistence import IntegrityError

from services.intake.application import Intake
from shared.settings import Settings
from shared.store import store_env


def disclose(intake: Intake, i: int) -> None:
    intake.report_incident(
        school="OAK",
        disclosure_route="peer",
        summary=f"Invented disclosure number {i} for a diagnostic",
        recorded_by="staff.bench",
        recorded_by_role="staff",
    )


def growth(var_dir: Path, cases: int, block: int) -> None:
    intake = Intake(store_env(Settings(var_dir=var_dir, jwt_secret=JWT_SECRET), "intake"))
    print("one thread, one school: mean ms per disclosure, by cases already recorded")
    for start in range(0, cases, block):
        t0 = time.perf_counter()
        for i in range(start, start + block):
            disclose(intake, i)
        ms = (time.perf_counter() - t0) / block * 1000
        print(f"  {start:>5}-{start + block - 1:<5} {ms:6.1f}")
    intake.close()


def concurrent(var_dir: Path, count: int, threads: int) -> dict[str, Any]:
    intake = Intake(store_env(Settings(var_dir=var_dir, jwt_secret=JWT_SECRET), "intake"))
    conflicts = 0
    lock = threading.Lock()
    save = intake.save

    def counting_save(*args: Any, **kwargs: Any) -> Any:
        nonlocal conflicts
        try:
            return save(*args, **kwargs)
        except IntegrityError:
            with lock:
                conflicts += 1
            raise

    intake.save = counting_save  # type: ignore[method-assign]
    gave_up = 0

    def one(i: int) -> None:
        nonlocal gave_up
        try:
            disclose(intake, i)
        except RuntimeError:
            with lock:
                gave_up += 1

    t0 = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, range(count)))
    elapsed = time.perf_counter() - t0
    intake.close()
    return {"elapsed": elapsed, "conflicts": conflicts, "gave_up": gave_up}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1500)
    parser.add_argument("--block", type=int, default=250)
    parser.add_argument("--concurrent", type=int, default=400)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="750 cases, 200 concurrent")
    args = parser.parse_args()
    print_header("diag_intake_reference")
    if args.quick:
        args.cases, args.concurrent = 750, 200
    with temp_dir("diag-intake-") as tmp:
        growth(tmp / "growth", args.cases, args.block)
        print(f"\n{args.concurrent} disclosures for one school, from a fresh store:")
        for threads in (1, args.threads):
            r = concurrent(tmp / f"threads{threads}", args.concurrent, threads)
            print(
                f"  {threads} thread(s): {args.concurrent / r['elapsed']:6.0f} disclosures/s, "
                f"{r['conflicts']} save conflicts, {r['gave_up']} gave up after 10 attempts"
            )


if __name__ == "__main__":
    main()
