"""Helpers the benchmarks share: a private nats-server in a temp dir, invented data, figures."""

from __future__ import annotations

import contextlib
import datetime
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from shared.embedded_nats import EmbeddedNats

JWT_SECRET = "bench-signing-key-invented-for-benchmarks-only-0123456789"  # noqa: S105 - invented


@contextlib.contextmanager
def temp_dir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def private_nats(tmp: Path) -> Iterator[EmbeddedNats]:
    """A nats-server of our own on a free port (never the system one on 4222).

    A watcher process stops it and removes ``tmp`` should this process die without cleaning
    up (a crash in a store driver, say).
    """
    server = EmbeddedNats(tmp / "nats", log_file=tmp / "nats.log")
    server.start()
    assert server.process is not None
    watcher = subprocess.Popen(
        [
            "sh",
            "-c",
            'while kill -0 "$1" 2>/dev/null; do sleep 1; done; kill "$2"; sleep 1; rm -rf "$3"',
            "watcher",
            str(os.getpid()),
            str(server.process.pid),
            str(tmp),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        yield server
    finally:
        watcher.kill()
        watcher.wait()
        server.stop()


def seed_intake(intake: object, n: int, school: str = "OAK") -> None:
    """Record ``n`` invented disclosures for one school through the intake application."""
    from services.intake.application import Intake

    assert isinstance(intake, Intake)
    for i in range(n):
        intake.report_incident(
            school=school,
            disclosure_route="peer",
            summary=f"Invented disclosure number {i} for a benchmark",
            recorded_by="staff.bench",
            recorded_by_role="staff",
        )


def _git(*args: str) -> str:
    root = Path(__file__).resolve().parent.parent
    try:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
    except OSError:
        return ""
    return done.stdout.strip()


def print_header(name: str) -> None:
    """What was measured where: date, commit (dirty: product files differ from it), Python."""
    commit = _git("rev-parse", "--short", "HEAD") or "?"
    if _git("status", "--porcelain", "--", ".", ":!bench", ":!docs/performance.md"):
        commit += "-dirty"
    today = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(
        f"{name}: {today}, commit {commit}, Python {platform.python_version()}, "
        f"{os.cpu_count()} cores"
    )


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def median(values: list[float]) -> float:
    return statistics.median(values)
