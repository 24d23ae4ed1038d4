"""A service's background work under its supervisor, against a real nats-server: a failure in
the relay or a consumer is restarted and new work flows; /readyz tells the truth meanwhile."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.intake.entrypoint import SPEC as INTAKE
from services.referral.entrypoint import SPEC as REFERRAL
from shared import supervisor as supervision
from shared.embedded_nats import EmbeddedNats
from shared.relay import OutboxRelay
from shared.runtime import ServiceRuntime
from tests.conftest import StoreChoice
from tests.helpers import eventually, report

pytestmark = pytest.mark.nats


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(supervision, "FIRST_BACKOFF", 0.05)


@pytest.fixture
async def runtimes(
    store: StoreChoice, nats_server: EmbeddedNats
) -> AsyncIterator[tuple[ServiceRuntime, ServiceRuntime]]:
    settings = store.settings(nats_url=nats_server.url, stall_seconds=1.0)
    intake, referral = ServiceRuntime(INTAKE, settings), ServiceRuntime(REFERRAL, settings)
    await intake.start()
    await referral.start()
    yield intake, referral
    await referral.stop()
    await intake.stop()


def referred(referral: ServiceRuntime) -> int:
    return referral.consumers[0].status.applied


async def test_a_relay_that_fails_unexpectedly_is_restarted_and_new_work_flows(
    runtimes: tuple[ServiceRuntime, ServiceRuntime], monkeypatch: pytest.MonkeyPatch
) -> None:
    intake, referral = runtimes
    report(intake.app, 2)
    await eventually(lambda: referred(referral) == 2)
    assert isinstance(intake.relay, OutboxRelay)
    real = intake.relay._send_batch
    failures = 0

    async def fails_once(position: int) -> Any:
        nonlocal failures
        if failures == 0:
            failures += 1
            msg = "an invented bug in the relay"
            raise RuntimeError(msg)
        return await real(position)

    monkeypatch.setattr(intake.relay, "_send_batch", fails_once)
    report(intake.app, 3)  # new work after the failure
    await eventually(lambda: referred(referral) == 5)
    ready, health = intake.readiness()
    assert ready, health["problems"]
    relay = health["tasks"]["relay"]
    assert relay["restarts"] == 1
    assert relay["last_error"] == "RuntimeError: an invented bug in the relay"
    assert relay["alive"] is True


async def test_a_consumer_whose_loop_fails_is_restarted_and_applies_the_rest_once(
    runtimes: tuple[ServiceRuntime, ServiceRuntime], monkeypatch: pytest.MonkeyPatch
) -> None:
    intake, referral = runtimes
    consumer = referral.consumers[0]
    real = consumer._next
    failures = 0

    async def fails_once(*args: Any) -> Any:
        nonlocal failures
        if failures == 0:
            failures += 1
            msg = "an invented bug in the consumer's loop"
            raise ValueError(msg)
        return await real(*args)

    monkeypatch.setattr(consumer, "_next", fails_once)
    report(intake.app, 4)
    await eventually(lambda: referred(referral) == 4)
    _, health = referral.readiness()
    task = health["tasks"]["consumer from intake"]
    assert task["restarts"] == 1
    assert "an invented bug" in task["last_error"]
    assert consumer.status.duplicates == 0
    await eventually(lambda: referral.readiness()[0])


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)  # NATS's fault, not the store's
async def test_readiness_is_503_while_stored_work_cannot_be_published_and_200_after(
    runtimes: tuple[ServiceRuntime, ServiceRuntime], nats_server: EmbeddedNats
) -> None:
    intake, referral = runtimes
    report(intake.app, 1)
    await eventually(lambda: referred(referral) == 1)
    assert intake.readiness()[0]
    nats_server.stop()
    report(intake.app, 2)  # stored, and cannot be published
    problems = await eventually(lambda: intake.readiness()[1]["problems"])
    assert "NATS is not connected" in problems  # type: ignore[operator]
    stalled = await eventually(
        lambda: [p for p in intake.readiness()[1]["problems"] if p.startswith("relay")]
    )
    assert "(2 waiting)" in stalled[0]  # type: ignore[index]
    assert intake.readiness()[1]["tasks"]["relay"]["lag_events"] == 2
    nats_server.start()
    await eventually(lambda: referred(referral) == 3, timeout=30)
    report(intake.app, 1)  # new work after the recovery
    await eventually(lambda: referred(referral) == 4)
    await eventually(lambda: intake.readiness()[0] and referral.readiness()[0], timeout=15)
    # Once each: a message redelivered across the restart is found applied and changes nothing.
    assert (
        referral.app.recorder.max_tracking_id("intake") == intake.app.recorder.max_notification_id()
    )
    assert referred(referral) == 4


async def test_readiness_answers_within_a_second_when_the_store_hangs(
    runtimes: tuple[ServiceRuntime, ServiceRuntime], monkeypatch: pytest.MonkeyPatch
) -> None:
    intake, _ = runtimes
    release = threading.Event()

    def hangs(*args: Any, **kwargs: Any) -> int:
        release.wait(10)  # as a pool waiting for a server that is gone
        return 0

    monkeypatch.setattr(intake.app.recorder, "max_notification_id", hangs)
    try:
        for _ in range(2):  # and again while the first probe is still waiting
            started = time.monotonic()
            ready, health = await asyncio.to_thread(intake.readiness)
            assert time.monotonic() - started < 2.0
            assert not ready
            assert "the store did not answer within 1 s" in health["problems"]
    finally:
        release.set()
    monkeypatch.undo()
    await eventually(lambda: intake.readiness()[0])
