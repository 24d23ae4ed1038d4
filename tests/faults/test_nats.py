"""Fault 3: nats-server stopped for 10 s and started again on the same data, and killed with
SIGKILL. Intake keeps recording while it is away; every service says 503 while nothing can
move, and ``safeguard status`` names why (exit 1; 0 before and after); everything recorded
meanwhile reaches referral and review once it is back, and so does new work. The store does
not matter to this fault: SQLite only."""

from __future__ import annotations

import time

import pytest

from shared.embedded_nats import EmbeddedNats
from tests.faults.deployment import Deployment

pytestmark = [pytest.mark.e2e, pytest.mark.faults]
sqlite_only = pytest.mark.parametrize("store", ["sqlite"], indirect=True)


def outage(deployment: Deployment, down: float, label: str) -> list[str]:
    """Disclosures recorded at intake while NATS is away, for ``down`` seconds at least."""
    until = time.monotonic() + down
    recorded = deployment.disclose(3, label)  # 201 at once: intake does not need NATS to record
    while time.monotonic() < until:
        time.sleep(0.2)
    return recorded


def assert_503_while_down_and_200_after(deployment: Deployment) -> None:
    deployment.unwatch()
    for name in ("intake", "referral", "review"):
        seen = deployment.readiness.seen[name]
        assert 503 in {status for _, status in seen}, (name, seen[:5])
        assert seen[-1][1] == 200, (name, seen[-5:])


@sqlite_only
def test_nats_stopped_for_ten_seconds_then_everything_flows(
    deployment: Deployment, nats_server: EmbeddedNats
) -> None:
    before = deployment.new_work("before", 2)
    deployment.wait_flowed(before)
    deployment.watch()
    ready = deployment.status()
    assert ready.returncode == 0, ready.stdout
    for task in ("relay", "consumer from intake", "consumer from referral", "deliveries"):
        assert task in ready.stdout
    assert "All three services are ready." in ready.stdout
    nats_server.stop()
    deployment.kill("review")  # and a service down too, for `safeguard status` to name
    down = deployment.status()
    assert down.returncode == 1, down.stdout
    assert "NOT READY" in down.stdout
    assert "intake: NATS is not connected" in down.stdout
    assert "review: not answering at" in down.stdout
    deployment.start("review")
    during = outage(deployment, 10.0, "during")
    problems = deployment.readyz("intake")["problems"]
    assert "NATS is not connected" in problems
    nats_server.start()
    deployment.wait_flowed(during, timeout=60)
    deployment.wait_ready()
    deployment.wait_flowed(deployment.new_work("after", 3), timeout=30)
    assert_503_while_down_and_200_after(deployment)
    assert deployment.status().returncode == 0


@sqlite_only
def test_nats_killed_then_everything_flows(
    deployment: Deployment, nats_server: EmbeddedNats
) -> None:
    deployment.watch()
    started = deployment.disclose(20, "killed-mid-run")
    nats_server.kill()  # the relays' and consumers' work in flight is cut mid-way
    during = outage(deployment, 3.0, "during")
    nats_server.start()
    deployment.wait_flowed(started + during, timeout=60)
    deployment.wait_ready()
    deployment.wait_flowed(deployment.new_work("after", 3), timeout=30)
    assert_503_while_down_and_200_after(deployment)
