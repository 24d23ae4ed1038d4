"""Fault 4: a node of a 3-node NATS cluster killed (SIGKILL) during a run of disclosures, then
brought back on its own data.

The node killed leads intake's stream. Intake goes on recording; its relay cannot publish for
the seconds the two nodes left take to elect a new leader (intake's /readyz says 503, naming the
relay), and then, two nodes of three being a quorum, what was recorded reaches referral and
review with the node still down. Everything recorded before, during and after reaches referral
and review exactly once and in order, the stream holds each event once, the node that comes
back catches up, and new work after its return flows.

On SQLite only: what this fault tests is the broker, and the store plays no part in it (the
store's own faults are tested on both stores elsewhere).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
from nats.js import JetStreamContext

from shared.bus import connect
from shared.embedded_nats import EmbeddedNats
from tests.faults.deployment import Deployment
from tests.helpers import stream_positions

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.faults,
    pytest.mark.parametrize("store", ["sqlite"], indirect=True),
]

T = TypeVar("T")


def on_cluster(url: str, ask: Callable[[JetStreamContext], Awaitable[T]]) -> T:
    """Ask JetStream something over a connection of the test's own."""

    async def run() -> T:
        nc = await connect(url, "faults-test")
        try:
            return await ask(nc.jetstream())
        finally:
            await nc.close()

    return asyncio.run(run())


class Disclosures(threading.Thread):
    """A school recording a disclosure every ``every`` seconds until told to stop, each retried
    with its own Idempotency-Key until it is recorded."""

    def __init__(self, deployment: Deployment, every: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.deployment = deployment
        self.every = every
        self.recorded: list[tuple[float, str]] = []
        self.error: BaseException | None = None
        self._enough = threading.Event()

    def run(self) -> None:
        try:
            n = 0
            while not self._enough.is_set():
                (case_id,) = self.deployment.disclose(1, f"run-{n}")
                self.recorded.append((time.monotonic(), case_id))
                n += 1
                self._enough.wait(self.every)
        except BaseException as e:  # handed to the test, which fails with it
            self.error = e

    def wait_for(self, count: int, timeout: float = 30.0) -> None:
        """Until ``count`` disclosures are recorded in all."""
        deadline = time.monotonic() + timeout
        while len(self.recorded) < count and time.monotonic() < deadline and self.is_alive():
            time.sleep(0.05)
        if self.error is not None:
            raise self.error
        assert len(self.recorded) >= count, f"{len(self.recorded)} recorded within {timeout}s"

    def finish(self) -> list[str]:
        self._enough.set()
        self.join(timeout=60)
        if self.error is not None:
            raise self.error
        return [case_id for _, case_id in self.recorded]


def test_a_node_killed_during_a_run_and_brought_back_loses_and_doubles_nothing(
    cluster_deployment: Deployment, nats_cluster: list[EmbeddedNats]
) -> None:
    deployment = cluster_deployment
    url = deployment.settings.nats_url
    deployment.wait_ready()
    readiness = deployment.watch()
    before = deployment.new_work("before", 2)

    async def intake_stream(js: JetStreamContext) -> Any:
        return await js.stream_info("INTAKE")

    # The hardest node to lose: the one that leads intake's stream, where the relay publishes
    # (asked until one is named: just after the streams are declared, it may still be elected).
    by_name = {f"safeguard-{node.port}": node for node in nats_cluster}
    deadline = time.monotonic() + 15
    while (info := on_cluster(url, intake_stream)).cluster.leader not in by_name:
        assert time.monotonic() < deadline, f"INTAKE has no leader: {info.cluster}"
        time.sleep(0.2)
    assert info.config.num_replicas == 3
    victim = by_name[info.cluster.leader]

    run = Disclosures(deployment)
    run.start()
    run.wait_for(3)
    victim.kill()
    killed_at = time.monotonic()
    # While intake's stream elects a new leader the relay cannot publish, and says so (intake
    # may first say that NATS is not connected, if it was connected to the node killed).
    deployment.not_ready("intake", naming="relay has not moved", timeout=20)
    run.wait_for(len(run.recorded) + 5)
    during = [c for at, c in run.recorded if at > killed_at]
    # Two nodes of three are a quorum: what was recorded since the kill reaches referral and
    # review with the node still down.
    deployment.wait_flowed(during, timeout=45)
    victim.start()
    run.wait_for(len(run.recorded) + 3)
    recorded = run.finish()

    after = deployment.new_work("after", 3)
    deployment.wait_flowed([*before, *recorded, *after], timeout=60)

    # The node that came back caught up: it leads each stream or holds a current replica.
    name = f"safeguard-{victim.port}"

    async def where_behind(js: JetStreamContext) -> dict[str, object]:
        behind: dict[str, object] = {}
        for stream in ("INTAKE", "REFERRAL", "REVIEW"):
            cluster = (await js.stream_info(stream)).cluster
            if cluster.leader == name:
                continue
            mine = [r for r in cluster.replicas or [] if r.name == name]
            if not (mine and mine[0].current and not mine[0].lag):
                behind[stream] = cluster
        return behind

    deadline = time.monotonic() + 20
    while behind := on_cluster(url, where_behind):
        assert time.monotonic() < deadline, f"{name} has not caught up: {behind}"
        time.sleep(0.5)

    # The relay re-published through a leader change: the broker kept each event once.
    positions = on_cluster(url, lambda js: stream_positions(js, "INTAKE"))
    assert positions == sorted(set(positions))

    deployment.wait_ready(timeout=10)
    deployment.unwatch()
    # Not ready while the relay could not publish (no leader for its stream), ready after;
    # referral and review had nothing they could not apply, and may have stayed ready.
    assert readiness.statuses("intake") == {200, 503}
    for name in ("intake", "referral", "review"):
        assert readiness.seen[name][-1][1] == 200, name
