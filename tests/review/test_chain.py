"""Tamper evidence: a case's entries form a hash chain, and verify names the entry where it
breaks, read from the stored events themselves."""

from __future__ import annotations

import itertools
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import psycopg
import pytest
from eventsourcing.persistence import Tracking
from psycopg import sql

from services.review.application import Reviews
from services.review.domain import GENESIS
from services.review.domain.chain import entry_hash, verify
from shared.contracts.intake import LeadershipInformedV1
from tests.conftest import POSTGRES_URL, StoreChoice
from tests.helpers import incident_reported

GOLDEN = Path(__file__).parent.parent / "contracts" / "golden"
INFORMED = json.loads((GOLDEN / "intake.leadership.informed.v1.json").read_text())
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def a_case(reviews: Reviews, entries: int = 4) -> UUID:
    disclosure = incident_reported(occurred_at=T0, recorded_at=T0)
    case_id: UUID = disclosure.case_id  # type: ignore[attr-defined]
    start = reviews.recorder.max_tracking_id("intake") or 0
    reviews.process_event(disclosure, Tracking("intake", start + 1))  # type: ignore[arg-type]
    for n in range(2, entries + 1):
        told = LeadershipInformedV1.model_validate(
            {
                **INFORMED,
                "case_id": case_id,
                "person": f"invented.person.{n}",
                "occurred_at": T0 + timedelta(minutes=n),
                "recorded_at": T0 + timedelta(minutes=n),
            }
        )
        reviews.process_event(told, Tracking("intake", start + n))  # type: ignore[arg-type]
    return case_id


def test_each_entry_is_chained_to_the_one_before() -> None:
    reviews = Reviews()
    case_id = a_case(reviews)
    entries = reviews.get_case(case_id).entries
    assert [e.number for e in entries] == [1, 2, 3, 4]
    assert entries[0].previous_hash == GENESIS
    assert all(b.previous_hash == a.hash for a, b in itertools.pairwise(entries))
    assert all(e.hash == entry_hash(vars(e)) for e in entries)
    assert reviews.verify(case_id) is None


@pytest.mark.parametrize(
    ("change", "number", "problem"),
    [
        (lambda es: es[2].update(summary="Altered"), 3, "no longer matches its hash"),
        (lambda es: es.pop(1), 2, "removed or moved"),
        (lambda es: es.insert(1, es.pop(2)), 2, "removed or moved"),
        (lambda es: es[1].update(hash="f" * 64), 2, "no longer matches its hash"),
    ],
    ids=["content changed", "entry removed", "entries swapped", "hash replaced"],
)
def test_verify_names_the_first_entry_where_the_chain_breaks(
    change: object, number: int, problem: str
) -> None:
    reviews = Reviews()
    case_id = a_case(reviews)
    entries = [dict(vars(e)) for e in reviews.get_case(case_id).entries]
    change(entries)  # type: ignore[operator]
    found = verify(entries)
    assert found is not None
    assert (found.number, problem in found.problem) == (number, True)


def rewrite_stored_event(
    table_name: str,
    store: StoreChoice,
    settings_env: dict[str, str],
    version: int,
    case_id: UUID,
    old: str,
    new: str,
) -> None:
    """Edit one stored event directly in the database, as someone with access to it could."""
    if store.kind == "sqlite":
        assert table_name == "stored_events"
        with sqlite3.connect(settings_env["SQLITE_DBNAME"]) as db:
            (state,) = db.execute(
                "SELECT state FROM stored_events"
                " WHERE originator_id = ? AND originator_version = ?",
                (case_id.hex, version),
            ).fetchone()
            altered = bytes(state).replace(old.encode(), new.encode())
            assert altered != bytes(state)
            db.execute(
                "UPDATE stored_events SET state = ?"
                " WHERE originator_id = ? AND originator_version = ?",
                (altered, case_id.hex, version),
            )
        return
    table = sql.Identifier(settings_env["POSTGRES_SCHEMA"], table_name)
    with psycopg.connect(POSTGRES_URL, autocommit=True) as db:
        (state,) = db.execute(
            sql.SQL(
                "SELECT state FROM {} WHERE originator_id = %s AND originator_version = %s"
            ).format(table),
            (case_id, version),
        ).fetchone()  # type: ignore[misc]
        altered = bytes(state).replace(old.encode(), new.encode())
        assert altered != bytes(state)
        db.execute(
            sql.SQL(
                "UPDATE {} SET state = %s WHERE originator_id = %s AND originator_version = %s"
            ).format(table),
            (altered, case_id, version),
        )


def test_an_event_edited_in_the_database_is_found_by_verify(store: StoreChoice) -> None:
    env = store.env("review")
    reviews = Reviews(env)
    case_id = a_case(reviews, entries=5)
    other = a_case(reviews, entries=3)
    assert reviews.verify(case_id) is None
    # Version 1 opens the record; version 4 is the third entry.
    table = reviews.recorder.events_table_name  # type: ignore[attr-defined]
    rewrite_stored_event(table, store, env, 4, case_id, "invented.person.3", "invented.person.X")
    reviews.close()

    reopened = Reviews(env)
    found = reopened.verify(case_id)
    assert found is not None
    assert found.number == 3
    assert "no longer matches its hash" in found.problem
    assert reopened.verify(other) is None
    assert list(reopened.case_ids()) == [case_id, other]


def test_as_of_shows_only_what_was_on_record_then() -> None:
    reviews = Reviews()
    case_id = a_case(reviews, entries=4)
    record = reviews.get_case(case_id)
    then = T0 + timedelta(minutes=3, seconds=30)
    assert [e.number for e in record.on_record(then)] == [1, 2, 3]
    assert [e.number for e in record.chronology(as_of=then)] == [1, 2, 3]
    assert len(record.chronology()) == 4
    assert record.chronology(as_of=T0 - timedelta(seconds=1)) == []


def test_safeguard_audit_verify_names_each_broken_case(
    store: StoreChoice, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from ops.cli import app

    settings = store.settings()
    monkeypatch.setenv("SAFEGUARD_VAR_DIR", str(settings.var_dir))
    monkeypatch.setenv("SAFEGUARD_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SAFEGUARD_DATABASE_SCHEMA_PREFIX", settings.database_schema_prefix)
    env = store.env("review")
    reviews = Reviews(env)
    intact = a_case(reviews, entries=3)
    tampered = a_case(reviews, entries=4)
    table = reviews.recorder.events_table_name  # type: ignore[attr-defined]
    reviews.close()

    clean = CliRunner().invoke(app, ["audit", "verify"])
    assert clean.exit_code == 0, clean.output
    assert "2 cases checked, 0 broken" in clean.output

    rewrite_stored_event(table, store, env, 3, tampered, "invented.person.2", "someone.else")
    broken = CliRunner().invoke(app, ["audit", "verify"])
    assert broken.exit_code == 1
    assert f"({tampered}) entry 2: its content no longer matches its hash" in broken.output
    assert str(intact) not in broken.output
