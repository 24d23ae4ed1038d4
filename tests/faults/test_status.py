"""``safeguard status``: the three services' readiness as a table, exit 1 when any is not."""

from __future__ import annotations

import subprocess
import sys

import pytest

from shared.embedded_nats import EmbeddedNats
from tests.faults.deployment import Deployment

pytestmark = [pytest.mark.e2e, pytest.mark.faults]


def status(deployment: Deployment) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "status"],
        env={**deployment.env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_status_names_each_task_and_each_reason_a_service_is_not_ready(
    deployment: Deployment, nats_server: EmbeddedNats
) -> None:
    deployment.wait_ready()
    ready = status(deployment)
    assert ready.returncode == 0, ready.stdout
    for task in ("relay", "consumer from intake", "consumer from referral", "deliveries"):
        assert task in ready.stdout
    assert "All three services are ready." in ready.stdout

    deployment.kill("review")
    nats_server.stop()
    down = status(deployment)
    assert down.returncode == 1, down.stdout
    assert "NOT READY" in down.stdout
    assert "intake: NATS is not connected" in down.stdout
    assert "review: not answering at" in down.stdout

    nats_server.start()
    deployment.start("review")
    deployment.wait_ready()
    deployment.wait_flowed(deployment.new_work("after", 2), timeout=30)
    assert status(deployment).returncode == 0
