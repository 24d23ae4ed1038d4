"""The supervisor of a service's background work: nothing ends silently, stuck work is named."""

from __future__ import annotations

import asyncio
import logging

import pytest

from shared import supervisor as supervision
from shared.supervisor import Supervisor, Work
from tests.helpers import eventually


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(supervision, "FIRST_BACKOFF", 0.01)


async def test_a_task_that_fails_is_logged_with_its_cause_counted_and_started_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runs = 0
    recovered = asyncio.Event()

    async def flaky(work: Work) -> None:
        nonlocal runs
        runs += 1
        if runs <= 2:
            msg = f"invented failure {runs}"
            raise RuntimeError(msg)
        recovered.set()
        await asyncio.Event().wait()

    supervisor = Supervisor("intake")
    with caplog.at_level(logging.ERROR, logger="shared.supervisor"):
        supervisor.start("relay", flaky)
        await asyncio.wait_for(recovered.wait(), 5)
    report = supervisor.report()["relay"]
    assert report["alive"] is True
    assert report["restarts"] == 2
    assert report["last_error"] == "RuntimeError: invented failure 2"
    assert report["last_error_at"]
    failures = [r for r in caplog.records if "relay failed" in r.getMessage()]
    assert len(failures) == 2
    assert failures[0].exc_info is not None  # the traceback, with its cause, is in the log
    assert supervisor.problems() == []
    await supervisor.stop()
    assert supervisor.report()["relay"]["state"] == "stopped"


async def test_a_task_that_returns_is_a_failure_too() -> None:
    runs = 0

    async def ends(work: Work) -> None:
        nonlocal runs
        runs += 1

    supervisor = Supervisor("review")
    supervisor.start("consumer from intake", ends)
    await eventually(lambda: runs >= 3)
    report = supervisor.report()["consumer from intake"]
    assert report["restarts"] >= 2
    assert "ended" in report["last_error"]
    await supervisor.stop()


async def test_a_task_waiting_out_its_backoff_is_a_problem(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(supervision, "FIRST_BACKOFF", 30.0)

    async def fails(work: Work) -> None:
        msg = "the store is read-only"
        raise OSError(msg)

    supervisor = Supervisor("intake")
    supervisor.start("relay", fails)
    await eventually(lambda: supervisor.report()["relay"]["state"] == "restarting")
    assert supervisor.problems() == ["relay is restarting (OSError: the store is read-only)"]
    await supervisor.stop()


async def test_work_that_waits_without_moving_is_named_after_the_stall_time() -> None:
    go = asyncio.Event()

    async def stuck(work: Work) -> None:
        work.failed("NATS not reachable", 7)
        await go.wait()
        work.moved(0)
        await asyncio.Event().wait()

    supervisor = Supervisor("intake", stall_seconds=0.2)
    supervisor.start("relay", stuck)
    await eventually(lambda: supervisor.report()["relay"]["lag_events"] == 7)
    assert supervisor.problems() == []  # not yet past the stall time
    (problem,) = await eventually(supervisor.problems)  # type: ignore[misc]
    assert problem.startswith("relay has not moved for")
    assert problem.endswith("s (7 waiting): NATS not reachable")
    assert supervisor.report()["relay"]["lag_seconds"] >= 0.2
    go.set()
    await eventually(lambda: supervisor.problems() == [])
    assert supervisor.report()["relay"]["lag_seconds"] == 0
    await supervisor.stop()


def test_idle_work_is_never_stalled() -> None:
    work = Work()
    work.moved_at -= 3600  # nothing has happened for an hour
    assert work.stalled_for() == 0.0
    work.stuck(1)  # the first event after the quiet hour starts its own clock
    assert work.stalled_for() < 1.0


async def test_stop_cancels_every_task_and_waits_for_each() -> None:
    stopped: list[str] = []

    async def runs(work: Work) -> None:
        try:
            await asyncio.Event().wait()
        finally:
            stopped.append("done")

    supervisor = Supervisor("referral")
    supervisor.start("deadlines", runs)
    supervisor.start("deliveries", runs)
    await asyncio.sleep(0.01)
    await supervisor.stop()
    assert stopped == ["done", "done"]
    assert {r["state"] for r in supervisor.report().values()} == {"stopped"}


async def test_stop_cancels_again_a_task_that_swallowed_its_cancellation() -> None:
    # As a consumer's fetch does on Python 3.11 when a message arrives with the cancellation:
    # asyncio.wait_for, which nats-py waits with, returns the message instead of raising.
    swallowed: list[str] = []

    async def swallows_one(work: Work) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            swallowed.append("cancellation")
        await asyncio.Event().wait()

    supervisor = Supervisor("review")
    supervisor.start("consumer from intake", swallows_one)
    await asyncio.sleep(0.01)
    async with asyncio.timeout(5):
        await supervisor.stop()
    assert swallowed == ["cancellation"]
    assert supervisor.report()["consumer from intake"]["state"] == "stopped"
