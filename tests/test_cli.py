"""The safeguard command: tokens, and `safeguard up` from start to a clean stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from ops.cli import app
from shared.embedded_nats import free_port
from shared.identity import Role, TokenService
from shared.settings import SERVICE_NAMES, Settings

SECRET = "cli-test-signing-key-invented-and-long-enough"


def test_token_issue_prints_a_token_the_services_accept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFEGUARD_JWT_SECRET", SECRET)
    result = CliRunner().invoke(
        app, ["token", "issue", "--user", "dsl.oak", "--role", "dsl", "--school", "OAK"]
    )
    assert result.exit_code == 0, result.output
    principal = TokenService(Settings(jwt_secret=SECRET)).verify(result.output.strip())
    assert principal.user == "dsl.oak"
    assert principal.role == Role.DSL
    assert principal.schools == frozenset({"OAK"})


def test_token_issue_refuses_every_school_for_a_school_role(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SAFEGUARD_JWT_SECRET", SECRET)
    result = CliRunner().invoke(
        app, ["token", "issue", "--user", "x", "--role", "dsl", "--school", "*"]
    )
    assert result.exit_code == 2
    assert "may not hold a token for every school" in result.output


def test_token_issue_refuses_a_school_not_in_the_trust(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SAFEGUARD_JWT_SECRET", SECRET)
    trust_file = tmp_path / "trust.toml"
    trust_file.write_text(
        'name = "Invented Trust"\npolicy_version = "uk-2024.2"\n'
        '[[schools]]\ncode = "BIRCH"\nname = "Birch School (invented)"\n'
        '[[schools]]\ncode = "YEW"\nname = "Yew School (invented)"\n'
    )
    monkeypatch.setenv("SAFEGUARD_TRUST_FILE", str(trust_file))
    issue = ["token", "issue", "--user", "dsl.oak", "--role", "dsl"]
    result = CliRunner().invoke(app, [*issue, "--school", "YEW", "--school", "OAK"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: no school OAK in Invented Trust; its schools: BIRCH, YEW"
    ]
    assert CliRunner().invoke(app, [*issue, "--school", "YEW"]).exit_code == 0
    # Every school stays a trust-wide role's, as before.
    lead = ["token", "issue", "--user", "lead", "--role", "trust_lead", "--school", "*"]
    assert CliRunner().invoke(app, lead).exit_code == 0


def test_token_issue_refuses_an_unknown_role() -> None:
    result = CliRunner().invoke(app, ["token", "issue", "--user", "x", "--role", "janitor"])
    assert result.exit_code == 2


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


@pytest.mark.e2e
@pytest.mark.nats
def test_up_starts_nats_three_services_and_the_web_pages_and_stops_cleanly(tmp_path: Path) -> None:
    ports = {name: free_port() for name in SERVICE_NAMES}
    web_port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFEGUARD_")}
    env.pop("NATS_URL", None)
    env.update(
        SAFEGUARD_VAR_DIR=str(tmp_path / "var"),
        SAFEGUARD_WEB_PORT=str(web_port),
        **{f"SAFEGUARD_{name.upper()}_PORT": str(port) for name, port in ports.items()},
    )
    up = subprocess.Popen(
        [sys.executable, "-m", "ops.cli", "up"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        ready: set[str] = set()
        while ready != set(SERVICE_NAMES) and time.monotonic() < deadline:
            assert up.poll() is None, up.stdout.read().decode()  # type: ignore[union-attr]
            for name, port in ports.items():
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                        ready.add(name)
                except httpx.TransportError:
                    pass
            time.sleep(0.1)
        assert ready == set(SERVICE_NAMES)
        start = httpx.get(f"http://127.0.0.1:{web_port}/", timeout=5)
        assert (start.status_code, "Exit this page" in start.text) == (200, True)
        nats_url = (tmp_path / "var" / "nats" / "url").read_text()
        nats_port = int(nats_url.rsplit(":", 1)[1])
        assert nats_port != 4222
        assert (tmp_path / "var" / "jwt-secret").stat().st_mode & 0o077 == 0
        assert (tmp_path / "var" / "nats" / "url").stat().st_mode & 0o077 == 0
    finally:
        up.send_signal(signal.SIGINT)
        output = up.communicate(timeout=60)[0].decode()
    assert up.returncode == 0, output
    assert "stopped" in output
    addresses = [line for line in output.splitlines() if "http://" in line]
    assert f"web      http://127.0.0.1:{web_port}/" in addresses[0], output  # the web first
    for line in output.splitlines():
        assert "Traceback" not in line, output
    assert not any(_listening(p) for p in [*ports.values(), web_port, nats_port])
    assert (tmp_path / "var" / "intake.sqlite").exists()


def test_serve_with_an_unusable_setting_says_so_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SAFEGUARD_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("SAFEGUARD_DATABASE_URL", "mysql://u@h/db")
    result = CliRunner().invoke(app, ["serve", "intake"])
    assert result.exit_code == 2
    assert "must start with postgresql://" in result.output
    monkeypatch.delenv("SAFEGUARD_DATABASE_URL")
    monkeypatch.setenv("SAFEGUARD_TRUST_FILE", str(tmp_path / "missing.toml"))
    result = CliRunner().invoke(app, ["serve", "intake"])
    assert result.exit_code == 2
    assert "missing.toml" in result.output
