"""Which event store a service's eventsourcing application uses.

Embedded default: one SQLite file per service under ``var/``. A trust deployment: one PostgreSQL
database, a schema per service, chosen by ``SAFEGUARD_DATABASE_URL``. Both are eventsourcing's own
recorders (on PostgreSQL with large transactions kept out of psycopg's pipeline,
:mod:`shared.postgres`); nothing here writes SQL of its own except creating the schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from urllib.parse import unquote, urlsplit

from shared.files import private_dir, private_file
from shared.settings import Settings

POSTGRES_RECORDER_TOPIC = "shared.postgres:ProcessRecorder"
"""eventsourcing's PostgreSQL recorder, but a large transaction is not sent through psycopg's
pipeline, which can hang on one (:mod:`shared.postgres`). Named, not imported: a service on
SQLite never loads psycopg."""


class StoreConfigError(ValueError):
    """The database URL cannot be used."""


def store_env(settings: Settings, service: str) -> dict[str, str]:
    """The eventsourcing environment for ``service`` (``PERSISTENCE_MODULE`` and its options)."""
    url = settings.database_url
    if not url:
        # The file itself is made by the application that opens it (private_store): a caller
        # may ask where the store is only to see whether it exists.
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(private_dir(settings.var_dir) / f"{service}.sqlite"),
            "SQLITE_LOCK_TIMEOUT": "10",
        }
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        msg = f"SAFEGUARD_DATABASE_URL must start with postgresql://, not {parts.scheme}://"
        raise StoreConfigError(msg)
    dbname = parts.path.lstrip("/")
    if not dbname:
        msg = "SAFEGUARD_DATABASE_URL names no database"
        raise StoreConfigError(msg)
    schema = f"{settings.database_schema_prefix}{service}"
    ensure_schema(url, schema)
    # POSTGRES_ENABLE_DB_FUNCTIONS stays off: in eventsourcing 9.5.x it silently stops
    # recording tracking rows, and tracking is what makes our consumers exactly-once.
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": dbname,
        "POSTGRES_HOST": parts.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_USER": unquote(parts.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
        "POSTGRES_SCHEMA": schema,
        "POSTGRES_POOL_SIZE": "5",
        "POSTGRES_MAX_OVERFLOW": "5",
        "POSTGRES_LOCK_TIMEOUT": "5",
        "PROCESS_RECORDER_TOPIC": POSTGRES_RECORDER_TOPIC,
    }


def application_env(settings: Settings, service: str) -> dict[str, str]:
    """The eventsourcing env a service's application is built with: its store, and the trust
    file (the application reads the trust's settings, such as referral's policy version in
    force and its notice recipients, from the same file as the runtime)."""
    trust_file = str(settings.trust_file) if settings.trust_file else ""
    return {**store_env(settings, service), "SAFEGUARD_TRUST_FILE": trust_file}


def private_store(env: Mapping[str, str]) -> None:
    """Make the SQLite store ``env`` names, if it does not exist yet, as an empty file of mode
    0600 in a 0700 directory, before SQLite opens it (and takes it for a new store): SQLite
    makes the store's -wal and -shm files with the store file's own mode (shared/files.py)."""
    if env.get("PERSISTENCE_MODULE") != "eventsourcing.sqlite":
        return
    name = env.get("SQLITE_DBNAME", "")
    if name and ":memory:" not in name and not name.startswith("file:"):
        private_file(Path(name))


def ensure_schema(url: str, schema: str) -> None:
    """eventsourcing creates its tables but not the schema that holds them."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
