"""Fault 2: SIGKILL of each service in turn in the middle of a run of 1,000 disclosures.

No shutdown, no drain, no last ack: as a crash or a power cut. Each school's client sends on
through the outage with the same Idempotency-Key (as the intake client does), and the killed
service is started again a moment later. Every disclosure must be recorded once and reach
referral and review exactly once, in order, and new work after the last restart must flow.
"""

from __future__ import annotations

import threading
import time

import pytest

from tests.faults.deployment import Deployment

pytestmark = [pytest.mark.e2e, pytest.mark.faults]

RUN = 1000
KILLS = {250: "intake", 500: "referral", 750: "review"}
"""After how many recorded disclosures each service is killed."""


def test_each_service_killed_mid_run_loses_nothing_and_duplicates_nothing(
    deployment: Deployment,
) -> None:
    killed: list[tuple[str, float]] = []
    due = dict(KILLS)
    lock = threading.Lock()

    def kill_when_due(recorded: int) -> None:
        with lock:
            name = due.pop(recorded, None)
            if name is None:
                return
            deployment.kill(name)
            killed.append((name, time.monotonic()))
        # Started again a moment later, while the clients send on (and meet the dead service).
        time.sleep(0.5)
        deployment.start(name)

    readiness = deployment.watch()
    case_ids = deployment.disclose_concurrently(RUN, "run", on_progress=kill_when_due)
    assert [name for name, _ in killed] == ["intake", "referral", "review"]
    assert len(set(case_ids)) == RUN  # each disclosure recorded once, retries and all

    deployment.wait_ready(timeout=60)
    after = deployment.new_work("after", 3)
    deployment.wait_flowed(after, timeout=60)
    deployment.wait_flowed(case_ids[-1:] + case_ids[:1], timeout=60)
    deployment.unwatch()
    for name in ("intake", "referral", "review"):
        # Down while killed (no process answers), ready again after.
        assert 0 in readiness.statuses(name), readiness.seen[name][:5]
        assert readiness.seen[name][-1][1] == 200
    # Nothing restarted inside the services: the recovery was the process's own start.
    for name in ("intake", "referral", "review"):
        tasks = deployment.readyz(name)["tasks"]
        assert all(t["restarts"] == 0 for t in tasks.values()), (name, tasks)

    codes = deployment.stop_cleanly()
    assert codes == {"intake": 0, "referral": 0, "review": 0}
    deployment.check_stores(case_ids)
