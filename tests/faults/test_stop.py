"""Stopping ``safeguard up``: Ctrl-C in a terminal (SIGINT to the whole process group) or
SIGTERM (as Docker sends) stops the services first, then nats-server, with exit code 0 and no
traceback; a second Ctrl-C kills what is still stopping. Each stop is followed by a start on
the same data and a disclosure that must reach review."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from shared.embedded_nats import free_port
from shared.identity import Role, TokenService
from shared.settings import SERVICE_NAMES, Settings

pytestmark = [pytest.mark.e2e, pytest.mark.faults]


class Up:
    """``safeguard up`` in a session of its own, as in a terminal."""

    def __init__(self, var: Path) -> None:
        self.var = var
        self.ports = {name: free_port() for name in SERVICE_NAMES}
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SAFEGUARD_")}
        self.env.pop("NATS_URL", None)
        self.env.update(
            SAFEGUARD_VAR_DIR=str(var),
            SAFEGUARD_WEB_PORT=str(free_port()),
            **{f"SAFEGUARD_{name.upper()}_PORT": str(p) for name, p in self.ports.items()},
        )
        self.process: subprocess.Popen[bytes] | None = None
        self.log = var.parent / "up.log"

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "ops.cli", "up"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            if all(self.ready(name) for name in SERVICE_NAMES):
                return
            time.sleep(0.1)
        raise AssertionError(f"not ready within 60 s: {self.log.read_text()[-3000:]}")

    def ready(self, name: str) -> bool:
        try:
            url = f"http://127.0.0.1:{self.ports[name]}/readyz"
            return httpx.get(url, timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def stop(self, *signals: tuple[int, bool]) -> tuple[int, str]:
        """Send each (signal, to the whole group?) a moment apart; the exit code and what
        this run printed."""
        assert self.process is not None
        printed_before = len(self.log.read_bytes())
        for signum, to_group in signals:
            if to_group:
                os.killpg(self.process.pid, signum)
            else:
                self.process.send_signal(signum)
            time.sleep(0.05)
        code = self.process.wait(timeout=60)
        return code, self.log.read_bytes()[printed_before:].decode(errors="replace")

    def record_and_see_on_review(self, label: str) -> None:
        tokens = TokenService(Settings(var_dir=self.var))
        staff = {"Authorization": f"Bearer {tokens.issue('staff.stop', Role.STAFF, ['OAK'])}"}
        dsl = {"Authorization": f"Bearer {tokens.issue('dsl.stop', Role.DSL, ['OAK'])}"}
        body = {"school": "OAK", "disclosure_route": "peer", "summary": f"Invented, {label}"}
        r = httpx.post(f"http://127.0.0.1:{self.ports['intake']}/cases", json=body, headers=staff)
        assert r.status_code == 201, r.text
        url = f"http://127.0.0.1:{self.ports['review']}/cases/{r.json()['case_id']}/chronology"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            g = httpx.get(url, headers=dsl)
            if g.status_code == 200 and any(
                e["kind"] == "assessment_recorded" for e in g.json()["entries"]
            ):
                return
            time.sleep(0.2)
        raise AssertionError(f"{label}: the assessment did not reach review within 30 s")


def assert_stopped_in_order(printed: str) -> None:
    assert "Traceback" not in printed, printed
    assert "ERROR" not in printed, printed
    assert "disconnected from NATS" not in printed, printed
    lines = printed.splitlines()
    last_service = max(i for i, line in enumerate(lines) if "Finished server process" in line)
    nats_stops = next(i for i, line in enumerate(lines) if "stopping nats-server" in line)
    assert last_service < nats_stops, printed  # the services first, nats-server last


def test_each_way_of_stopping_is_clean_and_the_next_start_carries_on(tmp_path: Path) -> None:
    """Ctrl-C in a terminal, then SIGTERM as Docker sends, then Ctrl-C twice, on one var dir:
    each clean stop exits 0 in order with no traceback; the forced one kills, says nothing
    it should not, and still stops nats-server; every next start records work that flows."""
    up = Up(tmp_path / "var")
    for label, stop in (
        ("ctrl-c", (signal.SIGINT, True)),
        ("sigterm", (signal.SIGTERM, False)),
    ):
        up.start()
        up.record_and_see_on_review(f"before {label}")
        code, printed = up.stop(stop)
        assert code == 0, (label, printed)
        assert_stopped_in_order(printed)
        finished = sum("Finished server process" in line for line in printed.splitlines())
        assert finished == len(SERVICE_NAMES) + 1  # the three services and the web pages

    up.start()
    up.record_and_see_on_review("before ctrl-c twice")
    code, printed = up.stop((signal.SIGINT, True), (signal.SIGINT, True))
    assert code != 0  # forced: not a clean stop, and it says so
    assert "Traceback" not in printed, printed
    assert "stopping nats-server" in printed  # nats-server is still stopped, not left behind
    up.start()  # on the same data
    up.record_and_see_on_review("after ctrl-c twice")
    code, printed = up.stop((signal.SIGINT, True))
    assert code == 0, printed
