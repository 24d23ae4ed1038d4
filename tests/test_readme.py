"""The README matches the code: its settings table, and the test command CI runs."""

from __future__ import annotations

import re
from pathlib import Path

from shared.settings import Settings

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()


def env_name(field: str) -> str:
    return "NATS_URL" if field == "nats_url" else f"SAFEGUARD_{field.upper()}"


def test_the_settings_table_lists_exactly_the_settings() -> None:
    table = README.split("## Settings", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", table, flags=re.MULTILINE))
    assert documented == {env_name(f) for f in Settings.model_fields}


def test_the_documented_defaults_are_the_real_ones() -> None:
    table = README.split("## Settings", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| `([A-Z_]+)` \| ([^|]+) \|", table, flags=re.MULTILINE))
    for name, field in Settings.model_fields.items():
        shown = rows[env_name(name)].strip().strip("`")
        default = field.default
        expected = "empty" if default in ("", None) else str(default)
        if isinstance(default, float) and default.is_integer() and shown.isdigit():
            expected = str(int(default))
        assert shown == expected, name


def test_ci_runs_the_readme_test_command() -> None:
    commands = re.findall(r"^(python3 -m venv .+)$", README, flags=re.MULTILINE)
    assert len(commands) >= 2
    run, test = commands[0], commands[1]
    assert run.endswith("safeguard up")
    assert test.endswith("pytest")
    assert test in (ROOT / ".ci" / "run").read_text().splitlines()


def named_paths(text: str) -> set[str]:
    """Every file or folder of the repository a text names in backticks (``a/{b,c}.py`` is
    two), with a step's neighbours named by file alone (``(`actions.py`)``) left out."""
    named = set()
    for path in re.findall(r"`((?:services|shared|ops|tests)/[\w/{},.]+)`", text):
        head, braces, tail = re.match(r"([^{]*)(?:\{([^}]*)\})?(.*)", path).groups()  # type: ignore[union-attr]
        named |= {head + part + tail for part in braces.split(",")} if braces else {path}
    return named


def test_every_path_the_architecture_names_exists() -> None:
    section = README.split("## Architecture", 1)[1].split("\n## ", 1)[0]
    paths = named_paths(section)
    assert "services/referral/domain/response.py" in paths
    assert "services/review/domain/chain.py" in paths
    missing = sorted(p for p in paths if not (ROOT / p.rstrip("/")).exists())
    assert not missing
