"""Which store errors are the store refusing (503, retried, named on /readyz), and which stay
errors: from the drivers' own errors, wrapped as eventsourcing wraps them."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from eventsourcing.persistence import (
    IntegrityError,
    InternalError,
    OperationalError,
    PersistenceError,
    ProgrammingError,
)
from fastapi.testclient import TestClient

from services.intake.application import Intake
from services.intake.entrypoint import create_app as intake_app
from shared.identity import Role, TokenService
from shared.store_writes import FULL, READ_ONLY, UNAVAILABLE, UNREACHABLE, StoreWrites, refusal
from tests.conftest import StoreChoice


def wrapped(kind: type[PersistenceError], driver_error: BaseException) -> PersistenceError:
    """As eventsourcing raises a driver's error: its own class, the driver's as the cause."""
    try:
        raise kind(str(driver_error)) from driver_error
    except PersistenceError as e:
        return e


def sqlite_error(tmp_path: Path, *, full: bool) -> sqlite3.Error:
    """A real SQLite error: a write beyond the pages the file may have, or a write to a file
    opened read-only."""
    path = tmp_path / "store.sqlite"
    sqlite3.connect(path).execute("CREATE TABLE IF NOT EXISTS t (x BLOB)").connection.commit()
    mode = "rw" if full else "ro"
    conn = sqlite3.connect(f"file:{path}?mode={mode}", uri=True, isolation_level=None)
    conn.execute("PRAGMA max_page_count = 3")
    try:
        for _ in range(10):
            conn.execute("INSERT INTO t VALUES (zeroblob(4000))")
    except sqlite3.Error as e:
        return e
    finally:
        conn.close()
    raise AssertionError("SQLite took every write")


def test_sqlite_full_and_read_only_are_refusals(tmp_path: Path) -> None:
    full = refusal(wrapped(OperationalError, sqlite_error(tmp_path, full=True)))
    assert full is not None
    assert str(full) == f"{FULL} (database or disk is full)"
    read_only = refusal(wrapped(OperationalError, sqlite_error(tmp_path, full=False)))
    assert read_only is not None
    assert read_only.what == READ_ONLY


def test_postgres_read_only_full_and_gone_are_refusals() -> None:
    read_only = psycopg.errors.ReadOnlySqlTransaction(
        "cannot execute INSERT in a read-only transaction"
    )
    found = refusal(wrapped(InternalError, read_only))  # an InternalError, not Operational
    assert found is not None
    assert found.what == READ_ONLY
    full = refusal(wrapped(OperationalError, psycopg.errors.DiskFull("could not extend file")))
    assert full is not None
    assert full.what == FULL
    gone = refusal(wrapped(OperationalError, psycopg.OperationalError("connection refused")))
    assert gone is not None
    assert gone.what == UNREACHABLE


def test_other_store_errors_are_not_refusals(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "bug.sqlite")
    with pytest.raises(sqlite3.Error) as bug:
        conn.execute("SELECT * FROM no_such_table")
    assert refusal(wrapped(OperationalError, bug.value)) is None  # SQLITE_ERROR: a bug
    syntax = psycopg.errors.SyntaxError("syntax error at or near")
    assert refusal(wrapped(ProgrammingError, syntax)) is None
    assert refusal(wrapped(IntegrityError, sqlite3.IntegrityError("UNIQUE"))) is None
    assert refusal(ValueError("not a store error")) is None
    # The library's own, with no driver error under it, is still the store unavailable.
    assert refusal(OperationalError("timed out waiting for a connection")) is not None
    assert refusal(OperationalError("x")).what == UNAVAILABLE  # type: ignore[union-attr]


def test_a_refusal_stays_noted_until_a_write_goes_through(tmp_path: Path) -> None:
    intake = Intake(StoreChoice("sqlite", tmp_path).env("intake"))
    writes = StoreWrites()
    assert writes.refused(wrapped(OperationalError, sqlite_error(tmp_path, full=True)))
    assert writes.problem().startswith(f"{FULL} (database or disk is full) since ")
    assert writes.refused(ValueError("not the store")) is None
    assert writes.refusing
    assert writes.probe(intake.recorder)  # this store takes writes
    assert not writes.refusing
    assert writes.problem() == ""


@pytest.fixture
def intake(store: StoreChoice) -> Iterator[TestClient]:
    with TestClient(intake_app(store.settings()), raise_server_exceptions=False) as client:
        yield client


def staff(client: TestClient) -> dict[str, str]:
    tokens: TokenService = client.app.state.tokens  # type: ignore[attr-defined]
    return {"Authorization": f"Bearer {tokens.issue('staff.a', Role.STAFF, ['OAK'])}"}


def test_a_store_error_that_is_not_a_refusal_stays_a_500(
    intake: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def bug(*args: object, **kwargs: object) -> None:
        raise wrapped(ProgrammingError, psycopg.errors.UndefinedTable("no such table"))

    monkeypatch.setattr(Intake, "save", bug)
    response = intake.post(
        "/cases",
        json={"school": "OAK", "disclosure_route": "peer", "summary": "Invented"},
        headers=staff(intake),
    )
    assert response.status_code == 500
    assert intake.get("/readyz").status_code == 200  # nothing said the store refused
