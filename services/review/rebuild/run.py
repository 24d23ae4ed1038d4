"""The whole rebuild, in shares of the cases: each share is rebuilt by a process of its own
(or, with one share, by this one) that reads every stream, applies the messages of its cases
(those whose id modulo the number of shares is its own) and writes them.

Why shares that each read everything: applying a message (decoding it, its words, the chained
hash, the stored form, the insert) costs four to five times reading it, so the cores are best
spent applying. Handing the messages from one reading process to others costs, in pickling
and hand-offs, about what it saves (measured: ``docs/performance.md``); reading them again in
each share costs a reading."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import queue
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import Tracking
from pydantic import ValidationError

from services.review.rebuild.store import (
    Applier,
    ApplyResult,
    Message,
    RebuildError,
    RebuiltReviews,
    Writer,
    discard_rebuild,
    index_schools,
    rebuild_env,
    rebuilt_store,
)
from services.review.rebuild.streams import (
    StreamHead,
    connect,
    peek_case,
    read_streams,
    stream_heads,
)
from shared.contracts import UnknownSubjectError, decode, loaded
from shared.settings import Settings

DEFAULT_BATCH_EVENTS = 5000
SHARES_FROM_MESSAGES = 50_000
"""Below this many messages one share is faster: starting a process costs about a second."""
SHARES_TRACKING_NAME = "rebuild-shares"
"""A tracking row whose "position" is the number of shares the cases were dealt into."""

Progress = Callable[[float], None]
"""Told how many more stream messages have been read (by every share, together)."""


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

    @property
    def messages_per_second(self) -> float:
        return self.messages / self.seconds if self.seconds > 0 else 0.0


def default_shares(messages: int = SHARES_FROM_MESSAGES) -> int:
    """A share per core, up to four, for streams long enough to be worth it."""
    return max(1, min(os.cpu_count() or 1, 4)) if messages >= SHARES_FROM_MESSAGES else 1


@dataclass(frozen=True)
class _Share:
    """What one share rebuilds."""

    env: dict[str, str]
    nats_url: str
    heads: tuple[StreamHead, ...]
    index: int
    shares: int
    batch_events: int

    def tracking_name(self, upstream: str) -> str:
        """One share writes the live consumers' own names; several, one name each."""
        return upstream if self.shares == 1 else f"{upstream}/{self.index + 1}-of-{self.shares}"

    def owns(self, message: Message) -> bool:
        if self.shares == 1:
            return True
        case = peek_case(message[1])
        if case is None:
            case = _decoded_case(message[0], message[1])
        return case % self.shares == self.index


def _decoded_case(subject: str, data: bytes) -> int:
    """The case id of a message the peek could not read; 0 (the first share reports it) for
    one this release cannot decode, or one about no case."""
    try:
        case_id = getattr(decode(subject, data), "case_id", None)
    except (UnknownSubjectError, ValidationError):
        return 0
    return case_id.int if case_id is not None else 0


async def rebuild(
    settings: Settings,
    nats_url: str,
    *,
    resume: bool = False,
    shares: int | None = None,
    batch_events: int = DEFAULT_BATCH_EVENTS,
    progress: Progress | None = None,
    total: Callable[[int], None] | None = None,
) -> RebuildOutcome:
    """Rebuild review's store from the streams as they stand now (their heads are read first;
    later messages are left for a later run), afresh or, with ``resume``, from the positions
    an interrupted rebuild wrote (in as many shares as it had)."""
    loaded()
    nc = await connect(nats_url, "review-rebuild")
    try:
        heads = await stream_heads(nc.jetstream())
    finally:
        await nc.close()
    if not resume:
        discard_rebuild(settings)
    messages = sum(h.messages for h in heads)
    env = rebuild_env(settings)
    app = RebuiltReviews(env)
    env["CREATE_TABLE"] = "n"  # made now, once: the shares only add rows
    try:
        shares = _shares(app, shares or default_shares(messages), resume=resume)
    finally:
        app.close()
    if total is not None:
        total(messages)
    jobs = [
        _Share(env, nats_url, tuple(heads), index, shares, batch_events) for index in range(shares)
    ]
    report = progress or (lambda _: None)
    start = time.perf_counter()
    if shares == 1:
        results = [await _rebuild_share(jobs[0], report)]
    else:
        results = await asyncio.to_thread(_in_processes, jobs, report)
    store = rebuilt_store(settings)
    try:
        index_schools(store)
        if shares > 1:
            # Done: the positions under the live consumers' own names, for the comparison.
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


async def _rebuild_share(share: _Share, progress: Progress) -> ApplyResult:
    """Read every stream from this share's positions, and apply and write its cases."""
    app = RebuiltReviews(share.env)
    result = ApplyResult()
    try:
        with ThreadPoolExecutor(1, thread_name_prefix="rebuild-write") as saver:
            applier = Applier(app)
            writer = Writer(app, saver, share.batch_events, share.tracking_name)

            async def deliver(upstream: str, messages: list[Message], read_to: int) -> None:
                stored, applied = applier.apply(upstream, [m for m in messages if share.owns(m)])
                writer.add(upstream, stored, read_to, len(messages))
                result.add(applied)
                progress(len(messages))

            nc = await connect(share.nats_url, f"review-rebuild-{share.index + 1}")
            try:
                after = {h.upstream: writer.position(h.upstream) for h in share.heads}
                await read_streams(nc.jetstream(), share.heads, after, deliver, progress)
            finally:
                await nc.close()
                writer.wait()
            result.stored = writer.finish()
    finally:
        app.close()
    return result


def _share_process(share: _Share, updates: Any) -> None:
    """A share in a process of its own: reports its progress, then its result or failure."""

    def progress(read: float) -> None:
        updates.put(("read", share.index, read))

    try:
        result = asyncio.run(_rebuild_share(share, progress))
    except BaseException as e:  # reported to the parent, which fails the rebuild
        updates.put(("failed", share.index, f"{type(e).__name__}: {e}"))
        return
    updates.put(("done", share.index, result))


def _in_processes(jobs: Sequence[_Share], progress: Progress) -> list[ApplyResult]:
    # spawn, not fork: this process has threads and an event loop running.
    context = multiprocessing.get_context("spawn")
    updates = context.Queue()
    processes = [
        context.Process(
            target=_share_process, args=(job, updates), name=f"review-rebuild-{job.index + 1}"
        )
        for job in jobs
    ]
    for process in processes:
        process.start()
    results: dict[int, ApplyResult] = {}
    try:
        while len(results) < len(jobs):
            try:
                kind, index, value = updates.get(timeout=1.0)
            except queue.Empty:
                # A share reports even its own failure: one that stops without a word was killed.
                for index, process in enumerate(processes):
                    if process.exitcode not in (None, 0) and index not in results:
                        msg = f"share {index + 1} stopped with exit code {process.exitcode}"
                        raise RebuildError(msg) from None
                continue
            if kind == "read":
                progress(value / len(jobs))
            elif kind == "done":
                results[index] = value
            else:
                raise RebuildError(f"share {index + 1}: {value}")
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
            process.join()
    return [results[index] for index in range(len(jobs))]
