"""Helpers the benchmarks share: a private nats-server in a temp dir, invented data, figures."""

from __future__ import annotations

import contextlib
import shutil
import statistics
import string
import tempfile
from collections.abc import Iterator
from itertools import product
from pathlib import Path

from shared.embedded_nats import EmbeddedNats

JWT_SECRET = "bench-signing-key-invented-for-benchmarks-only-0123456789"


@contextlib.contextmanager
def temp_dir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def private_nats(tmp: Path) -> Iterator[EmbeddedNats]:
    """A nats-server of our own on a free port (never the system one on 4222)."""
    server = EmbeddedNats(tmp / "nats", log_file=tmp / "nats.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def school_codes(count: int) -> list[str]:
    """Invented school codes (AA, AB, ...), not in any real trust."""
    letters = string.ascii_uppercase
    return ["".join(p) for p in product(letters, repeat=2)][:count]


def seed_intake(intake: object, n: int, per_school: int = 100) -> None:
    """Record ``n`` invented disclosures, spread over invented schools.

    Spread because intake's reference allocation replays the whole per-school sequence on every
    disclosure (cost grows with the school's case count); seeding is not what is measured.
    """
    from services.intake.application import Intake

    assert isinstance(intake, Intake)
    codes = school_codes((n + per_school - 1) // per_school)
    for i in range(n):
        intake.report_incident(
            school=codes[i // per_school],
            disclosure_route="peer",
            summary=f"Invented disclosure number {i} for a benchmark",
            recorded_by="staff.bench",
            recorded_by_role="staff",
        )


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def median(values: list[float]) -> float:
    return statistics.median(values)
