"""The whole rebuild, in shares of the cases.

With one share this process reads every stream, applies every message and writes the events.
With several, this process reads every stream once and deals each message to the share that
holds its case (its id modulo the number of shares), a process per share applies what it is
dealt, and one more process writes the events the shares make.

Why: applying a message costs about three times reading it, so the cores are best spent
applying, and a message is best read once (each share reading every stream cost each share a
reading of every message, and the server a delivery of each to every share); and the store
takes one writer at a time (shares that each wrote waited on each other). Dealt messages cross
to their share as the bytes they arrived as. Measured: ``docs/performance.md``, section 4.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import multiprocessing
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast
from uuid import UUID

from eventsourcing.persistence import StoredEvent, Tracking
from pydantic import ValidationError

from ops.rebuild.store import (
    Applier,
    ApplyResult,
    Insert,
    InsertInThread,
    Message,
    Opened,
    RebuildError,
    RebuiltReviews,
    SchoolIndexes,
    Usage,
    Writer,
    discard_rebuild,
    prepare_writing,
    rebuild_env,
    rebuilt_store,
)
from ops.rebuild.streams import (
    StreamHead,
    connect,
    peek_case,
    read_streams,
    stream_heads,
)
from shared.contracts import UnknownSubjectError, decode, loaded
from shared.settings import Settings

BATCH_EVENTS = (5000, 10_000)
"""Events a transaction writes: a twentieth of the rebuild's messages, within these bounds.
Larger transactions cost less an event as the store grows (each dirties fewer pages of the
store's index per event); smaller ones leave less to write once the last message is applied."""
SHARES_FROM_MESSAGES = 20_000
"""Below this many messages one share, in this process, is as fast: starting the processes costs
about a quarter of a second (measured: equal at 10,000 messages, 2 shares 25% faster at 20,000)."""
INBOX_BATCHES = 6
"""Batches dealt to a share and not yet taken: reading runs that far ahead of applying (about
3,000 messages a share; with 24, a rebuild of the million took 36.1-38.1 s against 35.5-36.1)."""
WRITES_AHEAD = 2
"""Batches of events the shares have made and the writer has not yet taken."""
GC_THRESHOLDS = (50_000, 20, 100)
"""The garbage collector's thresholds in a rebuild's processes (Python's are 700, 10, 10). A
rebuild makes objects by the million, which reference counting frees, and holds every case it
has applied: collecting as often as Python does cost the reading process 15% of its CPU and
each share 11%, at the million. Cycles are still collected, less often; peak memory was the
same (measured: ``docs/performance.md``, section 4)."""
SHARES_TRACKING_NAME = "rebuild-shares"
"""A tracking row whose "position" is the number of shares the cases were dealt into."""

Progress = Callable[[float], None]
"""Told how many more stream messages have been applied, or passed over."""


@dataclass
class RebuildOutcome:
    """What a rebuild read and wrote, and how fast."""

    heads: list[StreamHead]
    messages: int
    """Stream messages the rebuild covers."""
    applied: int
    stored: int
    seconds: float
    shares: int
    unreadable: list[str]
    usage: dict[str, Usage]
    """What each process used: this one ("reading" when it deals to shares) and each share's
    and the writer's."""

    @property
    def messages_per_second(self) -> float:
        return self.messages / self.seconds if self.seconds > 0 else 0.0


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """The garbage collector at ``GC_THRESHOLDS`` (and what was there before frozen, so that it
    is not looked through again) until the rebuild is done; then as it was."""
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


def default_shares(messages: int = SHARES_FROM_MESSAGES) -> int:
    """A share per core, up to four, for streams long enough to be worth it."""
    return max(1, min(os.cpu_count() or 1, 4)) if messages >= SHARES_FROM_MESSAGES else 1


@dataclass(frozen=True)
class _Share:
    """What one share rebuilds."""

    env: dict[str, str]
    heads: tuple[StreamHead, ...]
    index: int
    shares: int
    batch_events: int

    def tracking_name(self, upstream: str) -> str:
        """One share writes the live consumers' own names; several, one name each."""
        return upstream if self.shares == 1 else f"{upstream}/{self.index + 1}-of-{self.shares}"


def _share_of(message: Message, shares: int) -> int:
    case = peek_case(message[1])
    if case is None:
        case = _decoded_case(message[0], message[1])
    return case % shares


def _decoded_case(subject: str, data: bytes) -> int:
    """The case id of a message the peek could not read; 0 (the first share reports it) for
    one this release cannot decode, or one about no case."""
    try:
        case_id = getattr(decode(subject, data), "case_id", None)
    except (UnknownSubjectError, ValidationError):
        return 0
    return case_id.int if case_id is not None else 0


class _Applying:
    """One share's applying of the messages it is given, past its own positions (an
    interrupted rebuild of this share wrote those before), and the writing of their events:
    here, from a thread of its own, or by ``insert`` (to the one process that writes)."""

    def __init__(self, share: _Share, insert: Insert | None = None) -> None:
        self.app = RebuiltReviews(share.env)
        self.here: InsertInThread | None = None
        if insert is None:
            self.here = InsertInThread(self.app)
            insert = self.here
        self.applier = Applier(self.app)
        self.writer = Writer(self.app, insert, share.batch_events, share.tracking_name)
        self.after = {h.upstream: self.writer.position(h.upstream) for h in share.heads}
        self.result = ApplyResult()

    def deliver(self, upstream: str, messages: list[Message], read_to: int) -> None:
        after = self.after[upstream]
        if messages and messages[0][2] <= after:
            messages = [m for m in messages if m[2] > after]
        stored, applied = self.applier.apply(upstream, messages)
        self.writer.add(upstream, stored, read_to, len(messages), applied.opened)
        self.result.add(applied)

    def finish(self) -> ApplyResult:
        self.result.stored = self.writer.finish()
        return self.result

    def close(self) -> None:
        try:
            if self.here is not None:
                self.here.wait()
        finally:
            if self.here is not None:
                self.here.close()
            self.app.close()


async def rebuild(
    settings: Settings,
    nats_url: str,
    *,
    resume: bool = False,
    shares: int | None = None,
    batch_events: int | None = None,
    progress: Progress | None = None,
    total: Callable[[int], None] | None = None,
) -> RebuildOutcome:
    """Rebuild review's store from the streams as they stand now (their heads are read first;
    later messages are left for a later run), afresh or, with ``resume``, from the positions
    an interrupted rebuild wrote (in as many shares as it had)."""
    with fewer_collections():
        loaded()
        start = time.perf_counter()
        cpu_before = Usage.of_this_process().cpu_seconds
        nc = await connect(nats_url, "review-rebuild")
        try:
            heads = await stream_heads(nc.jetstream())
        finally:
            await nc.close()
        if not resume:
            discard_rebuild(settings)
        messages = sum(h.messages for h in heads)
        if batch_events is None:
            batch_events = min(max(messages // 20, BATCH_EVENTS[0]), BATCH_EVENTS[1])
        env = rebuild_env(settings)
        app = RebuiltReviews(env)
        env["CREATE_TABLE"] = "n"  # made now, once: the shares only add rows
        try:
            shares = _shares(app, shares or default_shares(messages), resume=resume)
            jobs = [_Share(env, tuple(heads), i, shares, batch_events) for i in range(shares)]
            # Read from the earliest of the shares' positions: each passes over what it has.
            after = {
                h.upstream: min(
                    app.recorder.max_tracking_id(j.tracking_name(h.upstream)) or 0 for j in jobs
                )
                for h in heads
            }
        finally:
            app.close()
        if total is not None:
            total(messages)
        report = progress or (lambda _: None)
        usage: dict[str, Usage] = {}
        if shares == 1:
            results = [await _rebuild_here(jobs[0], nats_url, report)]
        else:
            results, usage["writer"] = await _rebuild_dealt(jobs, nats_url, after, report)
            usage.update({f"share {i + 1}": r.usage for i, r in enumerate(results) if r.usage})
        if shares > 1:
            # Done: the positions under the live consumers' own names, for the comparison.
            store = rebuilt_store(settings)
            try:
                for head in heads:
                    if head.last_position > (store.recorder.max_tracking_id(head.upstream) or 0):
                        store.recorder.insert_tracking(Tracking(head.upstream, head.last_position))
            finally:
                store.close()
        return RebuildOutcome(
            heads=heads,
            messages=messages,
            applied=sum(r.applied for r in results),
            stored=sum(r.stored for r in results),
            seconds=time.perf_counter() - start,
            shares=shares,
            unreadable=sorted({u for r in results for u in r.unreadable}),
            usage={"this process": Usage.of_this_process(cpu_before), **usage},
        )


def _shares(app: RebuiltReviews, wanted: int, *, resume: bool) -> int:
    """``wanted``, or when resuming, as many shares as the interrupted rebuild had: a case must
    stay in its share, whose cache holds it."""
    started = app.recorder.max_tracking_id(SHARES_TRACKING_NAME)
    if resume and started is not None:
        return started
    if resume and app.recorder.max_notification_id():
        msg = "the rebuild store holds no record of its shares; start afresh (without --resume)"
        raise RebuildError(msg)
    app.recorder.insert_tracking(Tracking(SHARES_TRACKING_NAME, wanted))
    return wanted


async def _rebuild_here(share: _Share, nats_url: str, progress: Progress) -> ApplyResult:
    """One share: read every stream from its positions, and apply and write every message."""
    applying = _Applying(share)
    try:

        async def deliver(upstream: str, messages: list[Message], read_to: int) -> None:
            applying.deliver(upstream, messages, read_to)
            progress(len(messages))

        nc = await connect(nats_url, "review-rebuild")
        try:
            await read_streams(nc, share.heads, applying.after, deliver, progress)
        finally:
            await nc.close()
        return applying.finish()
    finally:
        applying.close()


async def _rebuild_dealt(
    jobs: Sequence[_Share], nats_url: str, after: dict[str, int], progress: Progress
) -> tuple[list[ApplyResult], Usage]:
    """Several shares, a process each: every stream read once, here, each message dealt to its
    case's share, and the events the shares make written by one process of its own.

    One writer because the store has one: SQLite takes one writer at a time, and a
    connection's cache of the store's pages is dropped whenever another commits, so shares
    that each wrote spent more time writing than applying; and a process of its own, because
    writing in a thread of this one, beside the reading, took twice as long for the GIL
    (both measured: ``docs/performance.md``)."""
    # Forked from a server process started afresh, which imports what a share needs once:
    # this process has threads and an event loop running, so it is not forked itself.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    updates = context.Queue()
    to_write = context.Queue(maxsize=WRITES_AHEAD)
    inboxes = [context.Queue(maxsize=INBOX_BATCHES) for _ in jobs]
    processes = [
        context.Process(
            target=_share_process,
            args=(job, inbox, to_write, updates),
            name=f"review-rebuild-{job.index + 1}",
        )
        for job, inbox in zip(jobs, inboxes, strict=True)
    ]
    processes.append(
        context.Process(
            target=_write_process,
            args=(jobs[0].env, len(jobs), to_write, updates),
            name="review-rebuild-writer",
        )
    )
    loop = asyncio.get_running_loop()

    def report(applied: float) -> None:  # from the watching thread, to this loop's
        loop.call_soon_threadsafe(progress, applied)

    def start() -> None:
        for process in processes:
            process.start()  # about 0.2 s in all: the server starts, and imports once

    # Reading starts meanwhile: the inboxes take the first batches while the processes start
    # (reading 100,000 messages took 3-4% less time).
    starting = asyncio.ensure_future(asyncio.to_thread(start))
    watch = _Watch(processes, updates, report)

    async def started_and_watched() -> tuple[list[ApplyResult], Usage]:
        await starting
        return await asyncio.to_thread(watch.results)

    watching = asyncio.ensure_future(started_and_watched())
    shares = len(jobs)

    async def hand(inbox: Any, item: object) -> None:
        """Into a share's inbox, waiting (in a thread) while it is full, unless the rebuild has
        failed. Put straight in when there is room: a thread for each put cost the reading a
        tenth of its CPU, in hand-offs."""
        while True:
            if watching.done():
                await watching  # raises why a share, or the writing, stopped
                raise RebuildError("the writing finished before every message was dealt")
            try:
                inbox.put_nowait(item)
                return
            except queue.Full:
                pass
            try:
                await asyncio.to_thread(inbox.put, item, True, 1.0)
            except queue.Full:
                continue
            return

    async def deal(upstream: str, messages: list[Message], read_to: int) -> None:
        parts: list[list[Message]] = [[] for _ in jobs]
        for message in messages:
            parts[_share_of(message, shares)].append(message)
        for inbox, part in zip(inboxes, parts, strict=True):
            # Even an empty part: the share's position in the stream moves on.
            await hand(inbox, (upstream, part, read_to))

    try:
        nc = await connect(nats_url, "review-rebuild")
        try:
            await read_streams(nc, jobs[0].heads, after, deal, progress)
        finally:
            await nc.close()
        for inbox in inboxes:
            await hand(inbox, None)  # that was all
        return await watching
    finally:
        watch.stop.set()
        await asyncio.wait([starting])  # none is left starting once the rest are stopped
        failed = not watching.done() or watching.cancelled() or watching.exception() is not None
        for process in processes:
            if failed and process.is_alive():
                process.terminate()
        for process in processes:
            if process.pid is None:
                continue  # never started
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
                process.join()
        for channel in (*inboxes, to_write, updates):
            if failed:
                channel.cancel_join_thread()  # what nobody will take is dropped, not waited on
            channel.close()
        if not watching.done():
            await asyncio.wait([watching])
            watching.exception()  # why it stopped is the error already being raised


class _Watch:
    """What the processes report: the shares' progress, then the writer's results (and what
    it used), or why any of them failed."""

    def __init__(self, processes: Sequence[Any], updates: Any, progress: Progress) -> None:
        self.processes = processes
        self.updates = updates
        self.progress = progress
        self.stop = threading.Event()

    def results(self) -> tuple[list[ApplyResult], Usage]:
        while True:
            if self.stop.is_set():
                raise RebuildError("the rebuild stopped before its shares finished")
            try:
                kind, index, value = self.updates.get(timeout=1.0)
            except queue.Empty:
                # Each reports even its own failure: one that stops without a word was killed.
                for process in self.processes:
                    if process.exitcode not in (None, 0):
                        msg = f"{process.name} stopped with exit code {process.exitcode}"
                        raise RebuildError(msg) from None
                continue
            if kind == "applied":
                self.progress(value)
            elif kind == "written":
                return cast("tuple[list[ApplyResult], Usage]", value)
            else:
                raise RebuildError(f"{index}: {value}")


Row = tuple[str, int, str, bytes]
"""A stored event as it crosses to the writing process: its fields, the case's id as the hex
text the SQLite store keeps (``StoredEvent`` takes an id as text; PostgreSQL reads it as a
``uuid``)."""


def _rows(events: list[StoredEvent]) -> list[Row]:
    return [
        (
            e.originator_id.hex if isinstance(e.originator_id, UUID) else e.originator_id,
            e.originator_version,
            e.topic,
            e.state,
        )
        for e in events
    ]


def _stored(rows: list[Row]) -> list[StoredEvent]:
    return [StoredEvent(*row) for row in rows]


class _GiveBack:
    """A dealt share's batches of events, handed to the writing process in the order they
    were made, as rows: pickling a ``StoredEvent`` and its ``UUID``, and making them again,
    cost more than writing it (8.5 µs an event against 1.2 for its fields, measured)."""

    def __init__(self, to_write: Any, index: int) -> None:
        self.to_write = to_write
        self.index = index

    def __call__(
        self, events: list[StoredEvent], tracking: Tracking, opened: Sequence[Opened]
    ) -> None:
        self.to_write.put(("stored", self.index, (_rows(events), tracking, list(opened))))

    def wait(self) -> None:
        """Written in order: the writer takes this share's "done" after its last batch."""


def _share_process(share: _Share, inbox: Any, to_write: Any, updates: Any) -> None:
    """A share in a process of its own: applies what it is dealt until told that was all,
    handing its events to the writer, then its result (or why it failed)."""
    try:
        with fewer_collections():
            result = _apply_dealt(share, inbox, to_write, updates)
    except BaseException as e:  # reported to the parent, which fails the rebuild
        updates.put(("failed", f"share {share.index + 1}", f"{type(e).__name__}: {e}"))
        return
    to_write.put(("done", share.index, result))


def _apply_dealt(share: _Share, inbox: Any, to_write: Any, updates: Any) -> ApplyResult:
    applying = _Applying(share, _GiveBack(to_write, share.index))
    parent = multiprocessing.parent_process()
    try:
        while True:
            try:
                item = inbox.get(timeout=1.0)
            except queue.Empty:
                if parent is not None and not parent.is_alive():
                    raise RebuildError("the rebuild that dealt to this share is gone") from None
                continue
            if item is None:
                result = applying.finish()
                result.usage = Usage.of_this_process()
                return result
            upstream, messages, read_to = item
            applying.deliver(upstream, messages, read_to)
            updates.put(("applied", share.index, len(messages)))
    finally:
        applying.close()


def _write_process(env: dict[str, str], shares: int, to_write: Any, updates: Any) -> None:
    """The one writer: each share's batches, each with its position, in the order it made
    them; then every share's result to the parent (or why the writing failed)."""
    try:
        with fewer_collections():
            results = _write(env, shares, to_write)
    except BaseException as e:  # reported to the parent, which fails the rebuild
        updates.put(("failed", "writing", f"{type(e).__name__}: {e}"))
        return
    updates.put(("written", "writing", (results, Usage.of_this_process())))


def _write(env: dict[str, str], shares: int, to_write: Any) -> list[ApplyResult]:
    store = RebuiltReviews(env)
    prepare_writing(store)
    indexes = SchoolIndexes(store)
    parent = multiprocessing.parent_process()
    results: dict[int, ApplyResult] = {}
    try:
        while len(results) < shares:
            try:
                kind, index, value = to_write.get(timeout=1.0)
            except queue.Empty:
                if parent is not None and not parent.is_alive():
                    raise RebuildError("the rebuild this process wrote for is gone") from None
                continue
            if kind == "stored":
                rows, tracking, opened = value
                events = [*_stored(rows), *indexes.stored_for(opened)]
                store.recorder.insert_events(events, tracking=tracking)
            else:
                results[index] = value
    finally:
        store.close()
    return [results[index] for index in range(shares)]
