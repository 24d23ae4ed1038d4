"""Fault 1: a clean restart of the whole deployment, with nothing pending and with a backlog.

The bug this was written for: after a clean restart with nothing waiting, a resumed relay
noted again the position it had noted before, the store refused it, the relay's task ended,
and nothing recorded after the restart ever reached referral or review, while every /readyz
said ready.
"""

from __future__ import annotations

import pytest

from tests.faults.deployment import Deployment

pytestmark = [pytest.mark.e2e, pytest.mark.faults]


def test_a_clean_restart_with_nothing_pending_then_new_work_flows(deployment: Deployment) -> None:
    before = deployment.new_work("before", 2)
    deployment.wait_flowed(before)
    for round_ in range(2):  # the bug showed on the second start, and again on the third
        codes = deployment.stop_cleanly()
        assert codes == {"intake": 0, "referral": 0, "review": 0}
        deployment.start()
        deployment.wait_ready()
        after = deployment.new_work(f"after-{round_}", 2)
        deployment.wait_flowed(after, timeout=30)
    deployment.wait_flowed(before, timeout=5)
    for name in ("intake", "referral", "review"):
        report = deployment.readyz(name)
        assert all(t["restarts"] == 0 for t in report["tasks"].values()), report["tasks"]


def test_a_clean_restart_with_a_backlog_then_new_work_flows(deployment: Deployment) -> None:
    deployment.stop_cleanly("referral", "review")
    backlog = deployment.disclose(20, "backlog")  # stored and published; nobody applies them
    deployment.stop_cleanly("intake")
    deployment.start()
    deployment.wait_flowed(backlog, timeout=60)
    deployment.wait_ready()
    deployment.wait_flowed(deployment.new_work("after", 3), timeout=30)
