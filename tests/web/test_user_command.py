"""``safeguard user``: accounts added, reset and disabled from the command line are the ones
the web pages sign in."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ops.cli import app
from services.web.accounts import Accounts, SignInRefusedError
from shared.settings import Settings


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_add_reset_and_disable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFEGUARD_VAR_DIR", str(tmp_path / "var"))
    code, out = run("user", "add", "A.Rowan@Oak.example", "--role", "dsl", "--school", "OAK")
    assert code == 0, out
    password = re.search(r"one-time password (\S+)", out).group(1)  # type: ignore[union-attr]
    accounts = Accounts(Settings(var_dir=tmp_path / "var"))
    account = accounts.check_password("a.rowan@oak.example", password)
    assert account.must_change_password
    assert account.schools == ["OAK"]

    code, out = run("user", "add", "a.rowan@oak.example", "--role", "dsl", "--school", "OAK")
    assert code == 2
    assert "already" in out
    code, out = run("user", "add", "x@oak.example", "--role", "dsl", "--school", "NOPE")
    assert code == 2
    assert "no school NOPE" in out
    code, out = run("user", "add", "y@oak.example", "--role", "dsl", "--school", "*")
    assert code == 2
    assert "named schools" in out

    code, out = run("user", "reset", "a.rowan@oak.example")
    assert code == 0, out
    again = re.search(r"one-time password (\S+)", out).group(1)  # type: ignore[union-attr]
    with pytest.raises(SignInRefusedError):
        accounts.check_password("a.rowan@oak.example", password)
    accounts.check_password("a.rowan@oak.example", again)

    code, out = run("user", "disable", "a.rowan@oak.example", "--reason", "left the school")
    assert code == 0, out
    with pytest.raises(SignInRefusedError):
        accounts.check_password("a.rowan@oak.example", again)
    code, out = run("user", "show", "a.rowan@oak.example")
    assert "disabled: True" in out
    assert again not in out
    code, out = run("user", "reset", "nobody@oak.example")
    assert code == 2
