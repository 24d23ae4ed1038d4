"""The rebuild store, and applying stream messages to it in batches.

The rebuild store sits beside the live one (``var/rebuild/review.sqlite``, or the PostgreSQL
schema ``<prefix>rebuild_review``) and has the live store's layout, so that the live service's
own :class:`Reviews` reads it.
"""

from __future__ import annotations

import resource
import sqlite3
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, cast
from uuid import UUID

from eventsourcing.application import ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import StoredEvent, Tracking
from eventsourcing.sqlite import SQLiteDatastore
from pydantic import ValidationError

from services.review.application import Reviews
from services.review.domain import CaseRecord, SchoolCases
from shared.contracts import UnknownSubjectError, decode
from shared.contracts.review import ReviewEntryRecordedV1
from shared.files import private_file
from shared.settings import Settings
from shared.store import application_env

REBUILD_SCHEMA_PREFIX = "rebuild_"
WRITES_IN_FLIGHT = 2
"""Batches handed to the writing thread and not yet written: the next is gathered meanwhile."""

Message = tuple[str, bytes, int]
"""A stream message as the rebuild keeps it: subject, data, relay position."""
Opened = tuple[str, UUID]
"""A case a rebuild opened: its school and its id."""


class RebuiltReviews(Reviews):
    """Review as the streams alone rebuild it: upstream contracts as the live service applies
    them, and review's own entries, from the REVIEW stream, recorded as its own again with the
    same facts. Nothing relays this store, so nothing is published again.

    Shares of the cases are applied in parallel and would each add to the same school's index
    (:class:`SchoolCases`), so it is left out here (:class:`_LeftOut` stands in for it): the
    one process that writes keeps the indexes (:class:`SchoolIndexes`), adding the cases each
    batch opened in that batch's transaction."""

    name = "review"  # the live store's table names, which eventsourcing derives from it

    cases_only_cached = False
    """Set when this process's cases can only be in the aggregate cache: the store held no
    event when its :class:`Applier` started, and other shares write only their own cases.
    A case not in the cache is then opened without asking the store (an empty ``SELECT``
    for each case, about 100 µs)."""

    def _record_for(self, case_id: UUID, school: str, reference: str) -> CaseRecord:
        if self.cases_only_cached:
            assert self.repository.cache is not None
            try:
                record: object = self.repository.cache.get(case_id)
            except KeyError:
                return CaseRecord(id=case_id, school=school, reference=reference)
            assert isinstance(record, CaseRecord)
            return record
        return super()._record_for(case_id, school, reference)

    def _school_index(self, school: str) -> SchoolCases:
        return cast("SchoolCases", _LEFT_OUT)

    def on_upstream(self, contract: Any, processing_event: ProcessingEvent[UUID]) -> None:
        if not isinstance(contract, ReviewEntryRecordedV1):
            super().on_upstream(contract, processing_event)
            return
        record = self._record_for(contract.case_id, contract.school, contract.reference)
        record.record_own(
            kind=contract.kind,
            summary=contract.summary,
            actor=contract.actor,
            actor_role=contract.actor_role,
            occurred_at=contract.occurred_at,
            recorded_at=contract.recorded_at,
            payload=contract.payload,
        )
        processing_event.collect_events(record)


class _LeftOut:
    """A school's index while a rebuild applies messages: a case added to it is not kept, and
    nothing is saved of it. Finding the school's index (a name-based UUID, a read of the cache)
    and adding to it, for a case's first message, cost as much as applying a message."""

    def add_case(self, case_id: UUID) -> None:
        return None


_LEFT_OUT = _LeftOut()


class _ProcessingEvent(ProcessingEvent[UUID]):
    """The library's, collecting our aggregates' events the same way without its runtime
    protocol checks: ``isinstance`` against a ``Protocol`` costs more than applying a message."""

    def collect_events(self, *objs: Any, **kwargs: Any) -> None:
        for obj in objs:
            if isinstance(obj, Aggregate):
                self.events.extend(obj.collect_events())
                self.aggregates[obj.id] = obj
            elif obj is not None and obj is not _LEFT_OUT:
                super().collect_events(obj)
        self.saved_kwargs.update(kwargs)


class ChainTail:
    """Stands in for a saved case's ``entries`` during a rebuild: how many there are and the
    last one, which is all that chaining the next entry reads. Anything else raises, rather
    than answering from a list that is not there."""

    def __init__(self, entries: Sequence[CaseRecord.EntryRecorded]) -> None:
        self.count = len(entries)
        self.last = entries[-1] if entries else None

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> CaseRecord.EntryRecorded:
        if self.last is None or index not in (-1, self.count - 1):
            msg = "a rebuild keeps only the last entry of a case in memory"
            raise IndexError(msg)
        return self.last

    def append(self, entry: CaseRecord.EntryRecorded) -> None:
        self.count += 1
        self.last = entry


def rebuild_settings(settings: Settings) -> Settings:
    """Where the rebuild is written: beside the live store, never in it."""
    return settings.model_copy(
        update={
            "var_dir": settings.var_dir / "rebuild",
            "database_schema_prefix": settings.database_schema_prefix + REBUILD_SCHEMA_PREFIX,
        }
    )


def rebuild_env(settings: Settings) -> dict[str, str]:
    """The rebuild store's environment: cases stay cached, and are never re-read or copied."""
    return {
        **application_env(rebuild_settings(settings), "review"),
        "AGGREGATE_CACHE_MAXSIZE": "0",  # unbounded: a saved case is only its chain's tail
        "AGGREGATE_CACHE_FASTFORWARD": "n",
        "DEEPCOPY_FROM_AGGREGATE_CACHE": "n",
    }


def live_env(settings: Settings) -> dict[str, str]:
    """The live store, opened only to be read: no table is created in it."""
    return {**application_env(settings, "review"), "CREATE_TABLE": "n"}


def rebuilt_store(settings: Settings) -> Reviews:
    """The rebuild store, read as the live service would read it."""
    return Reviews(application_env(rebuild_settings(settings), "review"))


SQLITE_PAGE_SIZE = 32768
"""The page size of a rebuild's SQLite store (SQLite's default is 4,096). An event is about
1.3 kB, so a 4 kB page holds two or three; with 16 kB pages writing an event took a quarter
less of the writer's CPU, with 32 kB a tenth less again at the million (5% at 100,000; 8 kB
took more, 64 kB no less). Comparing the store, which reads all of it, took the same time
(measured: ``docs/performance.md``, section 4)."""


SQLITE_CACHE_KB = 262_144
"""The page cache of the connection that writes a rebuild's SQLite store (SQLite's default is
2 MB). Events go into the store's index by case at random places: at a million events that
index is about 60 MB, and with 2 MB of cache most of its pages were read again by every
transaction (the writer's CPU: 17.6 s against 15.9 s with this, at the million)."""


def prepare_writing(app: Reviews) -> None:
    """Set up the connection that writes ``app``'s store, on SQLite, for a rebuild: a page cache
    of ``SQLITE_CACHE_KB``, and ``synchronous=NORMAL``, so that a commit is not an fsync (the
    write-ahead log is synced when it is copied into the store). A process that stops loses
    nothing; a machine that loses power may lose the last transactions, never the store, and
    each transaction holds its stream positions, so ``--resume`` applies those messages again
    (the writer's CPU at the million: 13.6-13.9 s against 11.7-12.2 s with this).

    A process that uses one connection at a time, as the writing process does, is handed the
    same one back by eventsourcing's pool each time."""
    datastore = getattr(app.recorder, "datastore", None)
    if not isinstance(datastore, SQLiteDatastore):
        return  # PostgreSQL keeps its own cache, and a rebuild commits to it as to any store
    with datastore.get_connection(commit=True) as connection:
        cursor = connection.cursor()
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KB}")
        cursor.execute("PRAGMA synchronous=NORMAL")


def discard_rebuild(settings: Settings) -> None:
    """Remove an earlier rebuild, so that this one starts afresh (in SQLite, in an empty file
    of ``SQLITE_PAGE_SIZE`` pages, which eventsourcing then makes its tables in)."""
    target = rebuild_settings(settings)
    if not settings.database_url:
        for path in target.var_dir.glob("review.sqlite*"):
            path.unlink()
        _empty_sqlite(Path(application_env(target, "review")["SQLITE_DBNAME"]))
        return
    import psycopg
    from psycopg import sql

    schema = f"{target.database_schema_prefix}review"
    # Cannot be the live schema, whose prefix does not end in "rebuild_"; checked all the same.
    assert schema != f"{settings.database_schema_prefix}review"
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def _empty_sqlite(path: Path) -> None:
    """An empty SQLite store whose pages are ``SQLITE_PAGE_SIZE``: the size is kept once the
    file has a header, which switching it to write-ahead logging (as eventsourcing does) writes.
    Made 0600 first, as every store is (:func:`shared.store.private_store`)."""
    private_file(path)
    db = sqlite3.connect(path)
    try:
        db.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")
        db.execute("PRAGMA journal_mode=WAL")
    finally:
        db.close()


class RebuildError(RuntimeError):
    """The rebuild could not go on; what it has saved stays, for ``--resume``."""


@dataclass(frozen=True)
class Usage:
    """What a process used: the most memory it held (resident) and its CPU time (all threads)."""

    peak_memory_kb: int
    cpu_seconds: float

    @classmethod
    def of_this_process(cls, cpu_since: float = 0.0) -> Usage:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return cls(usage.ru_maxrss, usage.ru_utime + usage.ru_stime - cpu_since)


@dataclass
class ApplyResult:
    """What was applied."""

    applied: int = 0
    """Messages applied."""
    stored: int = 0
    """Events written to the rebuild store."""
    unreadable: list[str] = field(default_factory=list)
    """Messages this release cannot decode (the live consumer dead-letters them)."""
    usage: Usage | None = None
    """What the process that applied them used, when it was one of its own."""
    opened: list[Opened] = field(default_factory=list)
    """The cases a batch opened, in the order it opened them (for its writing to index)."""

    def add(self, other: ApplyResult) -> None:
        self.applied += other.applied
        self.stored += other.stored
        self.unreadable.extend(other.unreadable)


class Applier:
    """Applies messages to the cases it holds, and encodes their new events for the store.

    Cases stay in the library's aggregate cache; once their new events are encoded, they keep
    only the tails of their chains (:class:`ChainTail`). A case met for the first time is
    read from the rebuild store (an interrupted rebuild saved it) or opened; in a store that
    was empty when the applier started, opened without asking the store.
    """

    def __init__(self, app: RebuiltReviews) -> None:
        self.app = app
        assert app.repository.cache is not None, "rebuild_env turns the aggregate cache on"
        self.cache = app.repository.cache
        app.cases_only_cached = not app.recorder.max_notification_id()

    def apply(
        self, upstream: str, messages: Sequence[Message]
    ) -> tuple[list[StoredEvent], ApplyResult]:
        result = ApplyResult()
        events: list[Any] = []
        touched: dict[UUID, object] = {}
        policy = self.app.policy
        put = self.cache.put
        for subject, data, position in messages:
            try:
                contract = decode(subject, data)
            except (UnknownSubjectError, ValidationError):
                result.unreadable.append(f"{subject} at {upstream}:{position}")
                continue
            processing_event = _ProcessingEvent(Tracking(upstream, position))
            policy(cast("Any", contract), processing_event)
            new_events = processing_event.events
            for aggregate_id, aggregate in processing_event.aggregates.items():
                put(aggregate_id, aggregate)
                touched[aggregate_id] = aggregate
            for event in new_events:
                if type(event) is CaseRecord.Opened:
                    result.opened.append((event.school, event.originator_id))
            events.extend(new_events)
            result.applied += 1
        stored = list(map(self.app.mapper.to_stored_event, events))
        for record in touched.values():
            if isinstance(record, CaseRecord) and not isinstance(record.entries, ChainTail):
                record.entries = cast("list[CaseRecord.EntryRecorded]", ChainTail(record.entries))
        return stored, result


class Insert(Protocol):
    """Writes a batch of stored events, the position they were applied to and the cases they
    opened (to their schools' indexes), in one transaction; ``wait`` returns once every batch
    handed to it is written."""

    def __call__(
        self, events: list[StoredEvent], tracking: Tracking, opened: Sequence[Opened]
    ) -> None: ...

    def wait(self) -> None: ...


class SchoolIndexes:
    """Each school's index of its cases (:class:`SchoolCases`), kept by the one process that
    writes a rebuild: the cases a batch opened are added in that batch's transaction, as the
    live service adds a case in its first entry's. An index is found in the store (an
    interrupted rebuild wrote it) or started, the live service's own way, then kept here."""

    def __init__(self, app: Reviews) -> None:
        self.app = app
        self.indexes: dict[str, tuple[SchoolCases, set[UUID]]] = {}

    def stored_for(self, opened: Sequence[Opened]) -> list[StoredEvent]:
        """The events that add ``opened`` to their schools' indexes, as stored."""
        touched: dict[str, SchoolCases] = {}
        for school, case_id in opened:
            if school not in self.indexes:
                index = Reviews._school_index(self.app, school)  # not RebuiltReviews' stand-in
                self.indexes[school] = (index, set(index.case_ids))
            index, indexed = self.indexes[school]
            if case_id not in indexed:
                index.add_case(case_id)
                indexed.add(case_id)
                touched[school] = index
        to_stored = self.app.mapper.to_stored_event
        return [to_stored(e) for index in touched.values() for e in index.collect_events()]


class InsertInThread:
    """Inserts into ``app``'s store from a thread of its own (so in order), at most
    ``WRITES_IN_FLIGHT`` batches behind, so that the next batch is gathered meanwhile and the
    store's own work runs outside the GIL."""

    def __init__(self, app: Reviews) -> None:
        self.recorder = app.recorder
        self.indexes = SchoolIndexes(app)
        self.thread = ThreadPoolExecutor(1, thread_name_prefix="rebuild-write")
        self.saving: deque[Future[object]] = deque()

    def __call__(
        self, events: list[StoredEvent], tracking: Tracking, opened: Sequence[Opened]
    ) -> None:
        while len(self.saving) >= WRITES_IN_FLIGHT:
            self.saving.popleft().result()
        self.saving.append(self.thread.submit(self._insert, events, tracking, opened))

    def _insert(
        self, events: list[StoredEvent], tracking: Tracking, opened: Sequence[Opened]
    ) -> None:
        indexed = self.indexes.stored_for(opened)
        self.recorder.insert_events([*events, *indexed], tracking=tracking)

    def wait(self) -> None:
        """Until every batch is written (or raise why one could not be)."""
        while self.saving:
            self.saving.popleft().result()

    def close(self) -> None:
        self.thread.shutdown()


class Writer:
    """Gathers stored events into batches of thousands, each written in one transaction with
    the position its stream has been applied to (a tracking row under the upstream's name, as
    the live consumers keep it), so that an interrupted rebuild resumes from there."""

    def __init__(
        self,
        app: Reviews,
        insert: Insert,
        batch_events: int,
        tracking_name: Callable[[str], str] = str,
    ) -> None:
        self.app = app
        self.insert = insert
        self.tracking_name = tracking_name
        self.batch_events = batch_events
        self.upstream = ""
        self.read_to = 0
        self.written: dict[str, int] = {}
        self.pending: list[StoredEvent] = []
        self.opened: list[Opened] = []
        self.messages = 0
        self.stored = 0

    def position(self, upstream: str) -> int:
        """How far ``upstream`` has been written: a rebuild carries on from there."""
        if upstream not in self.written:
            name = self.tracking_name(upstream)
            self.written[upstream] = self.app.recorder.max_tracking_id(name) or 0
        return self.written[upstream]

    def add(
        self,
        upstream: str,
        stored: Sequence[StoredEvent],
        read_to: int,
        messages: int,
        opened: Sequence[Opened] = (),
    ) -> None:
        """Events applied from ``upstream``'s stream, read up to ``read_to``, and the cases
        they opened."""
        if upstream != self.upstream:
            self.flush()
            self.upstream = upstream
        self.pending.extend(stored)
        self.opened.extend(opened)
        self.read_to = read_to
        self.messages += messages
        if len(self.pending) >= self.batch_events or self.messages >= 4 * self.batch_events:
            self.flush()

    def flush(self) -> None:
        if not self.upstream or self.read_to <= self.position(self.upstream):
            return
        tracking = Tracking(self.tracking_name(self.upstream), self.read_to)
        self.insert(self.pending, tracking, self.opened)
        self.stored += len(self.pending)
        self.written[self.upstream] = self.read_to
        self.pending = []
        self.opened = []
        self.messages = 0

    def finish(self) -> int:
        """Write what is left, and wait for it; the number of events written."""
        self.flush()
        self.insert.wait()
        return self.stored
