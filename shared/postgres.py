"""eventsourcing's PostgreSQL recorder for our services (``shared.store`` selects it through the
library's ``PROCESS_RECORDER_TOPIC``), with one change: a large transaction is
written without psycopg's pipeline mode.

eventsourcing writes every transaction in psycopg's pipeline mode (its commands and their
results travel together, in one round trip). psycopg 3.3.9's pipeline stops sending once its
last command is queued even if the connection has not taken all of it yet, then waits for
results that the server, still waiting for the rest of the query, never sends: both wait for
ever. A rebuild writing 5,000 events of about 1.3 kB in one transaction hung on its first or
second transaction every time (the server's backend waiting in ``ClientRead``, this process in
``Pipeline.sync``); 4,000 went through, and a service's own transactions, of a few kB, always do.
So transactions up to ``PIPELINED_UP_TO`` bytes of events keep the library's pipeline, and
larger ones are written as plain statements in one transaction, where the library's own
statements are sent one at a time and each is wholly sent before its result is awaited.
``tests/shared/test_postgres.py`` writes a transaction of 20 MB.

A second change: when the database refuses a write as read-only, every session of the pool is
replaced (see :meth:`ProcessRecorder._renew_sessions_if_read_only`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, cast

from eventsourcing.persistence import (
    InterfaceError,
    InternalError,
    OperationalError,
    StoredEvent,
    Tracking,
)
from eventsourcing.postgres import PostgresProcessRecorder
from eventsourcing.utils import retry

READ_ONLY_SQLSTATE = "25006"
"""read_only_sql_transaction: the session's transactions are read-only."""

PIPELINED_UP_TO = 1_000_000
"""Bytes of event state a transaction may hold and still go through the pipeline: well below
what a connection takes at once (the hang was seen from about 6 MB of events up)."""


class ProcessRecorder(PostgresProcessRecorder):
    """The library's process recorder; large transactions are written without the pipeline."""

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        with self._renew_sessions_if_read_only():
            if sum(len(event.state) for event in stored_events) <= PIPELINED_UP_TO:
                ids = super().insert_events(stored_events, **kwargs)
            else:
                ids = self._insert_without_pipeline(stored_events, **kwargs)
        return cast("Sequence[int] | None", ids)

    def insert_tracking(self, tracking: Tracking) -> None:
        with self._renew_sessions_if_read_only():
            super().insert_tracking(tracking)

    @contextmanager
    def _renew_sessions_if_read_only(self) -> Iterator[None]:
        """A session opened while the database was read-only stays read-only after the
        database is writable again (``ALTER DATABASE … SET default_transaction_read_only``
        reaches new sessions only), and the pool would keep it for ever. So when a write is
        refused as read-only, every session is replaced (those in use as they come back): the
        first write after the database is writable again finds a writable session."""
        try:
            yield
        except InternalError as e:
            if getattr(e.__cause__, "sqlstate", None) == READ_ONLY_SQLSTATE:
                self.datastore.pool.drain()
            raise

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def _insert_without_pipeline(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """What the library's ``insert_events`` does (the tracking row, the table lock, the
        notification, the events, their ids), in one transaction, statement by statement."""
        with (
            self.datastore.get_connection() as conn,
            conn.transaction(),
            conn.cursor() as curs,
        ):
            self._insert_events(curs, stored_events, **kwargs)
            self._insert_stored_events(curs, stored_events, **kwargs)
            return self._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
