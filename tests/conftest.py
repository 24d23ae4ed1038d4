"""Fixtures: a real nats-server per test (from the pip package, on a free port), and the store
each test runs on: SQLite files, and PostgreSQL (the local server, a fresh schema per test)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from shared.embedded_nats import EmbeddedNats, free_port
from shared.settings import Settings

POSTGRES_URL = os.environ.get(
    "SAFEGUARD_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
# CI sets this so that a PostgreSQL that is down fails the run instead of skipping its tests.
REQUIRE_POSTGRES = os.environ.get("SAFEGUARD_TEST_REQUIRE_POSTGRES") == "1"


def _postgres_up() -> bool:
    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False


@pytest.fixture(scope="session")
def postgres_available() -> bool:
    return _postgres_up()


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[EmbeddedNats]:
    """A nats-server of this test's own, which the test may stop, kill and restart."""
    server = EmbeddedNats(tmp_path / "nats", log_file=tmp_path / "nats.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def nats_cluster(tmp_path: Path) -> Iterator[list[EmbeddedNats]]:
    """Three nats-server nodes routed into one cluster, each with its JetStream data in a
    directory of its own (so a node killed and started again comes back with what it had)."""
    route_ports = [free_port() for _ in range(3)]
    nodes = [
        EmbeddedNats(
            tmp_path / f"node{i}",
            log_file=tmp_path / f"node{i}.log",
            cluster="safeguard-test",
            cluster_port=route_ports[i],
            routes=tuple(p for j, p in enumerate(route_ports) if j != i),
        )
        for i in range(3)
    ]
    for node in nodes:
        node.start()
    yield nodes
    for node in nodes:
        node.stop()


class StoreChoice:
    """Settings for one test on one store; PostgreSQL schemas are dropped afterwards."""

    def __init__(self, kind: str, tmp_path: Path) -> None:
        self.kind = kind
        self.tmp_path = tmp_path
        self.schema_prefix = f"t{uuid.uuid4().hex[:10]}_" if kind == "postgres" else ""

    def settings(self, **overrides: object) -> Settings:
        values: dict[str, object] = {
            "var_dir": self.tmp_path / "var",
            "nats_url": "",
            "jwt_secret": "test-signing-key-that-is-long-enough-for-hs256",
            "consumer_ack_wait_seconds": 1.0,
            "consumer_backoff_seconds": 0.05,
            "relay_poll_seconds": 0.2,
        }
        if self.kind == "postgres":
            values["database_url"] = POSTGRES_URL
            values["database_schema_prefix"] = self.schema_prefix
        values.update(overrides)
        return Settings(**values)  # type: ignore[arg-type]

    def env(self, service: str) -> dict[str, str]:
        from shared.store import store_env

        return store_env(self.settings(), service)

    def cleanup(self) -> None:
        if self.kind != "postgres":
            return
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s",
                (self.schema_prefix + "%",),
            ).fetchall()
            for (name,) in rows:
                conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_available: bool
) -> Iterator[StoreChoice]:
    """Runs the test once on SQLite files and once on the local PostgreSQL."""
    if request.param == "postgres" and not postgres_available:
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL is required here and not reachable at {POSTGRES_URL}")
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}")
    choice = StoreChoice(request.param, tmp_path)
    yield choice
    choice.cleanup()
