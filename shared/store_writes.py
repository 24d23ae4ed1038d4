"""When the case store refuses a write (full, read-only, unreachable): why, in words, and
whether the service knows it refuses writes now.

eventsourcing raises its own persistence errors, each wrapping the driver's: a full SQLite file
or disk is an ``OperationalError`` ("database or disk is full"), a read-only PostgreSQL
transaction an ``InternalError``, a lost connection an ``OperationalError``. Which class says
little, so :func:`refusal` reads the driver's own code under it (SQLite's error name,
PostgreSQL's SQLSTATE). An error that is not the store refusing (a bug in a statement, a
conflict) is no refusal: it stays the error it is.

A refusal is not the message's or the request's fault, and it ends by itself (space freed, the
database writable again). So the HTTP API answers 503 with the reason and ``Retry-After``,
consumers and the relay retry without counting it against a message, and ``/readyz`` says the
store refuses writes (:class:`StoreWrites`) until a write goes through again.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    OperationalError,
    PersistenceError,
    Tracking,
)

PROBE_TRACKING_NAME = "store-writes-probe"
"""The tracking row :meth:`StoreWrites.probe` writes: one row, never read by anything else."""

FULL = "the case store is full"
READ_ONLY = "the case store is read-only"
UNREACHABLE = "the case store cannot be reached"
BUSY = "the case store is busy"
DISK = "the case store's disk failed"
UNAVAILABLE = "the case store is unavailable"

_SQLITE = {
    "SQLITE_FULL": FULL,
    "SQLITE_READONLY": READ_ONLY,
    "SQLITE_IOERR": DISK,
    "SQLITE_CANTOPEN": UNREACHABLE,
    "SQLITE_BUSY": BUSY,
    "SQLITE_LOCKED": BUSY,
}
"""SQLite's primary result codes (its extended names start with these) that refuse a write."""

_POSTGRES = {
    "25006": READ_ONLY,  # read_only_sql_transaction: a read-only database, or a standby
    "53100": FULL,  # disk_full
    "53": UNAVAILABLE,  # insufficient resources (memory, connections)
    "08": UNREACHABLE,  # connection exceptions
    "57P": UNREACHABLE,  # the server shutting down, starting up or restarting
    "57014": BUSY,  # query_canceled: a statement timeout ran out
    "55P03": BUSY,  # lock_not_available: the lock timeout ran out
    "40": BUSY,  # serialization failure, deadlock
}
"""PostgreSQL SQLSTATEs (or their first characters) that refuse a write."""


@dataclass(frozen=True)
class Refusal:
    """Why the store refused: ``what`` in words for anyone (an HTTP answer), and the driver's
    own message for an operator (logs and ``/readyz``)."""

    what: str
    cause: str

    def __str__(self) -> str:
        return f"{self.what} ({self.cause})" if self.cause else self.what


def refusal(error: BaseException) -> Refusal | None:
    """Why the store refused, if ``error`` says it cannot take (or be asked for) anything now;
    None for any other error."""
    if not isinstance(error, PersistenceError) or isinstance(error, IntegrityError):
        return None  # an IntegrityError is a conflict, answered as one where it is expected
    cause: BaseException | None = error
    for _ in range(5):
        if cause is None:
            break
        what = _driver_refusal(cause)
        if what is not None:
            # The driver's own code decides: "no such table" is a bug, not a refusal.
            return Refusal(what, _first_line(cause)) if what else None
        cause = cause.__cause__ or cause.__context__
    if isinstance(error, OperationalError | InterfaceError):
        # Raised by the library itself (its pool of connections timing out, say).
        return Refusal(UNAVAILABLE, _first_line(error))
    return None


def _driver_refusal(error: BaseException) -> str | None:
    """What a driver's error says of the store ("" when it is no refusal), or None when
    ``error`` is not a driver's."""
    if isinstance(error, sqlite3.Error):
        name = getattr(error, "sqlite_errorname", "") or ""
        return next((what for code, what in _SQLITE.items() if name.startswith(code)), "")
    # psycopg is not imported here: a service on SQLite never loads it.
    module = type(error).__module__
    if module.startswith("psycopg_pool"):
        return BUSY  # every connection of the pool in use for longer than its timeout
    if module.startswith("psycopg"):
        sqlstate = getattr(error, "sqlstate", None)
        if sqlstate is None:
            return UNREACHABLE  # no answer from the server at all
        return next((what for code, what in _POSTGRES.items() if sqlstate.startswith(code)), "")
    return None


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


class StoreWrites:
    """Whether the store takes writes, as this service last found: a refusal is noted by
    whoever met it (a request, the relay, a consumer) and stays until a write goes through
    again (:meth:`probe`, which the runtime calls while one is noted)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._refused: Refusal | None = None
        self._since: datetime | None = None

    def refused(self, error: BaseException) -> Refusal | None:
        """Note ``error`` if it is the store refusing; the refusal, or None if it is not one."""
        found = refusal(error)
        if found is not None:
            with self._lock:
                if self._refused is None:
                    self._since = datetime.now(UTC)
                self._refused = found
        return found

    @property
    def refusing(self) -> bool:
        return self._refused is not None

    def problem(self) -> str:
        """Why the store is known not to take writes now, for ``/readyz`` ("" if it is not)."""
        with self._lock:
            if self._refused is None or self._since is None:
                return ""
            since = self._since.isoformat(timespec="seconds")
            return f"{self._refused} since {since}: nothing new can be recorded"

    def probe(self, recorder: Any) -> bool:
        """Try one small write (a tracking row of its own, in one transaction); whether the
        store took it. A refusal stays noted; any other error is raised."""
        try:
            held = recorder.max_tracking_id(PROBE_TRACKING_NAME) or 0
            recorder.insert_tracking(Tracking(PROBE_TRACKING_NAME, held + 1))
        except IntegrityError:
            pass  # another process of this service wrote it first: the store took that write
        except PersistenceError as e:
            if self.refused(e) is None:
                raise
            return False
        with self._lock:
            self._refused = None
            self._since = None
        return True
