"""Fault 5: the PostgreSQL server restarted during a run.

The local server itself is restarted (``pg_ctlcluster … stop --mode fast``: every session is
ended, and new ones refused for 5 s until it is started again), as an upgrade or a failover
would. The services
recover with no manual step: what the clients were sending is recorded once they retry, and
what was published meanwhile is applied, and new work after it flows.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.faults.deployment import Deployment

pytestmark = [pytest.mark.e2e, pytest.mark.faults]


def pg_ctlcluster(action: str) -> None:
    version = sorted(p.name for p in Path("/etc/postgresql").iterdir())[0]
    command = ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action]
    if action == "stop":
        command += ["--mode", "fast"]  # every session ended, as a crash or failover would
    subprocess.run(command, check=True, capture_output=True, timeout=60)


def restart_postgresql(down: float) -> None:
    """Stop the server, keep it down ``down`` seconds (longer than the store's own retries
    of about 2 s, so that the services meet the outage), and start it again."""
    pg_ctlcluster("stop")
    try:
        time.sleep(down)
    finally:
        pg_ctlcluster("start")


@pytest.mark.parametrize("store", ["postgres"], indirect=True)
def test_postgresql_restarted_mid_run_the_services_recover_by_themselves(
    deployment: Deployment,
) -> None:
    assert shutil.which("pg_ctlcluster"), "this machine's PostgreSQL is managed by pg_ctlcluster"
    restarted = threading.Event()

    def restart_midway(recorded: int) -> None:
        if recorded == 60 and not restarted.is_set():
            restarted.set()
            restart_postgresql(down=5.0)

    deployment.watch()
    case_ids = deployment.disclose_concurrently(150, "run", clients=3, on_progress=restart_midway)
    assert restarted.is_set()
    assert len(set(case_ids)) == 150
    deployment.wait_ready(timeout=60)
    after = deployment.new_work("after", 3)
    deployment.wait_flowed(after, timeout=60)
    deployment.wait_flowed(case_ids[::15], timeout=60)
    deployment.unwatch()
    for name in ("intake", "referral", "review"):
        # 503 while the store was away (answered within a second, not hung), 200 after.
        assert 503 in deployment.readiness.statuses(name), deployment.readiness.seen[name]
        assert deployment.readiness.seen[name][-1][1] == 200
    codes = deployment.stop_cleanly()
    assert codes == {"intake": 0, "referral": 0, "review": 0}
    deployment.check_stores(case_ids)
