"""Small helpers the tests share."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


async def eventually(
    probe: Callable[[], object],
    timeout: float = 10.0,  # noqa: ASYNC109 - a deadline for a condition, not one await
    interval: float = 0.02,
) -> object:
    """Wait for ``probe()`` to return something true; fail with what it last returned."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        last = probe()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s; last value: {last!r}")


async def stream_positions(js: object, stream: str) -> list[int]:
    """The ``Safeguard-Position`` of every message in ``stream``, in stream order."""
    from nats.js import JetStreamContext

    from shared.contracts.streams import POSITION_HEADER

    assert isinstance(js, JetStreamContext)
    info = await js.stream_info(stream)
    positions = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        msg = await js.get_msg(stream, seq)
        positions.append(int((msg.headers or {})[POSITION_HEADER]))
    return positions


def report(intake: object, n: int, school: str = "OAK") -> list[object]:
    """Record ``n`` invented disclosures through the intake application."""
    from services.intake.application import Intake

    assert isinstance(intake, Intake)
    return [
        intake.report_incident(
            school=school,
            disclosure_route="peer",
            summary=f"Invented disclosure number {i}",
            recorded_by="staff.test",
            recorded_by_role="staff",
        )[0]
        for i in range(n)
    ]


def incident_reported(**changes: object) -> object:
    """An invented ``IncidentReportedV1``; ``changes`` override its fields."""
    from datetime import UTC, datetime
    from uuid import uuid4

    from shared.contracts.intake import IncidentReportedV1

    now = datetime.now(UTC)
    values: dict[str, object] = {
        "case_id": uuid4(),
        "school": "OAK",
        "reference": "OAK-2026-0001",
        "disclosure_route": "peer",
        "summary": "Invented summary",
        "recorded_by": "staff.a",
        "recorded_by_role": "staff",
        "occurred_at": now,
        "recorded_at": now,
    }
    values.update(changes)
    return IncidentReportedV1.model_validate(values)
