"""The trust's configuration file."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.intake.entrypoint import create_app
from shared.identity import Role
from shared.trust import TrustFileError, load_trust
from tests.conftest import StoreChoice


def test_the_embedded_default_is_the_invented_demo_trust() -> None:
    trust = load_trust()
    assert "(demo)" in trust.name
    assert [s.code for s in trust.schools] == ["OAK", "ELM", "ASH"]
    assert trust.school("OAK") is not None
    assert trust.school("XYZ") is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("name = 'T'\npolicy_version = 'uk-2024.1'\n[[schools]]\ncode = 'oak'\nname = 'x'", "code"),
        (
            "name = 'T'\npolicy_version = 'uk-2024.1'\n"
            "[[schools]]\ncode = 'OAK'\nname = 'a'\n[[schools]]\ncode = 'OAK'\nname = 'b'",
            "share a code",
        ),
        ("name = 'T'\npolicy_version = 'uk-2024.1'\nschools = []", "schools"),
        (
            "name = 'T'\npolicy_version = 'uk-2024.1'\ntimezone = 'Europe/Lundon'\n"
            "[[schools]]\ncode = 'OAK'\nname = 'a'",
            "timezone: .*no time zone 'Europe/Lundon'",
        ),
        ("name = 'T\n", "Expected"),
    ],
)
def test_a_bad_trust_file_is_refused_naming_the_file(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = tmp_path / "trust.toml"
    path.write_text(text)
    with pytest.raises(TrustFileError, match=problem) as raised:
        load_trust(path)
    assert str(path) in str(raised.value)


def test_a_disclosure_for_a_school_outside_the_trust_is_422(tmp_path: Path) -> None:
    path = tmp_path / "trust.toml"
    path.write_text(
        "name = 'T'\npolicy_version = 'uk-2024.1'\n[[schools]]\ncode = 'PINE'\nname = 'x'"
    )
    settings = StoreChoice("sqlite", tmp_path).settings(trust_file=path)
    app = create_app(settings)
    with TestClient(app) as client:
        token = app.state.tokens.issue("s", Role.STAFF, ["OAK", "PINE"])
        headers = {"Authorization": f"Bearer {token}"}
        body = {"disclosure_route": "peer", "summary": "Invented"}
        refused = client.post("/cases", json={"school": "OAK", **body}, headers=headers)
        assert refused.status_code == 422
        assert "no school OAK in this trust" in refused.text
        created = client.post("/cases", json={"school": "PINE", **body}, headers=headers)
        assert created.status_code == 201
        assert created.json()["reference"].startswith("PINE-")


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("mysql://u@h/db", "must start with postgresql://"),
        ("postgresql://u@h/", "names no database"),
    ],
)
def test_a_database_url_that_cannot_be_used_is_refused_clearly(
    tmp_path: Path, url: str, problem: str
) -> None:
    from shared.store import StoreConfigError, store_env

    settings = StoreChoice("sqlite", tmp_path).settings(database_url=url)
    with pytest.raises(StoreConfigError, match=problem):
        store_env(settings, "intake")
