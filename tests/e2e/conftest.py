"""The three services as real processes (``safeguard serve NAME``) on a nats-server of the
test's own, so the test can stop and restart any of them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shared.embedded_nats import EmbeddedNats, free_port
from shared.identity import Role, TokenService
from shared.settings import SERVICE_NAMES, Settings
from tests.conftest import StoreChoice


class Services:
    """Start, stop and call the three services."""

    def __init__(
        self, settings: Settings, log_dir: Path, extra_env: dict[str, str] | None = None
    ) -> None:
        self.settings = settings
        self.log_dir = log_dir
        self.extra_env = dict(extra_env or {})
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.tokens = TokenService(settings)

    @property
    def env(self) -> dict[str, str]:
        s = self.settings
        env = {k: v for k, v in os.environ.items() if not k.startswith("SAFEGUARD_")}
        env.update(
            NATS_URL=s.nats_url,
            SAFEGUARD_VAR_DIR=str(s.var_dir),
            SAFEGUARD_DATABASE_URL=s.database_url,
            SAFEGUARD_DATABASE_SCHEMA_PREFIX=s.database_schema_prefix,
            SAFEGUARD_JWT_SECRET=s.jwt_secret,
            SAFEGUARD_INTAKE_PORT=str(s.intake_port),
            SAFEGUARD_REFERRAL_PORT=str(s.referral_port),
            SAFEGUARD_REVIEW_PORT=str(s.review_port),
            SAFEGUARD_CONSUMER_ACK_WAIT_SECONDS=str(s.consumer_ack_wait_seconds),
            SAFEGUARD_RELAY_POLL_SECONDS=str(s.relay_poll_seconds),
        )
        env.update(self.extra_env)
        return env

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.settings.port_of(name)}"

    def start(self, *names: str) -> None:
        for name in names or SERVICE_NAMES:
            log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", "ops.cli", "serve", name],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        for name in names or SERVICE_NAMES:
            self.wait_listening(name)

    def wait_listening(self, name: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.processes[name].poll() is not None:
                raise AssertionError(f"{name} exited: {self.log(name)}")
            try:
                if httpx.get(f"{self.url(name)}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"{name} did not listen within {timeout}s: {self.log(name)}")

    def log(self, name: str) -> str:
        return (self.log_dir / f"{name}.log").read_text()[-3000:]

    def stop(self, *names: str) -> None:
        for name in names or list(self.processes):
            process = self.processes.pop(name)
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def kill(self, name: str) -> None:
        """SIGKILL: no shutdown, no drain, no last ack, as a crash or power cut would."""
        process = self.processes.pop(name)
        process.kill()
        process.wait()

    def bearer(self, role: Role, schools: list[str], user: str = "user.e2e") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens.issue(user, role, schools)}"}


@pytest.fixture
def services(store: StoreChoice, nats_server: EmbeddedNats, tmp_path: Path) -> Iterator[Services]:
    settings = store.settings(
        nats_url=nats_server.url,
        intake_port=free_port(),
        referral_port=free_port(),
        review_port=free_port(),
    )
    running = Services(settings, tmp_path)
    running.start()
    yield running
    running.stop()
