"""One supervisor for a service's background work: no task ends silently.

Each long-running task of a service (the outbox relay, each upstream's consumer, referral's
deadlines and deliveries) runs under :class:`Supervisor`. A task that raises, or returns when it
should run forever, is logged at ERROR with its cause, counted, and started again after a backoff
that doubles up to :data:`MAX_BACKOFF` (and starts small again once a task has run a while).

Each task also keeps a :class:`Work` record of how its work moves: what is waiting for it and
when it last moved. ``/readyz`` reads both, so that a service whose work is stuck says so
(see :meth:`Supervisor.problems`), however alive its process looks.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger(__name__)

FIRST_BACKOFF = 0.2
MAX_BACKOFF = 30.0
STEADY_AFTER = 60.0
"""A task that ran this long before failing is started again after the first backoff."""
CANCEL_AGAIN_AFTER = 0.5
"""Seconds :meth:`Supervisor.stop` gives a cancelled task before cancelling it again."""


@dataclass
class Work:
    """How one task's work moves: kept by the task, read by ``/readyz``.

    ``waiting`` is how much work waits for the task (events not yet published, upstream
    messages not yet applied; ``None`` while unknown); ``moved_at`` when the task last made
    progress or found nothing to do.
    """

    waiting: int | None = 0
    moved_at: float = field(default_factory=time.monotonic)
    last_error: str = ""
    last_error_at: datetime | None = None

    def moved(self, waiting: int = 0) -> None:
        """Work moved on (or there was none): ``waiting`` is what is left."""
        self.waiting = waiting
        self.moved_at = time.monotonic()
        self.last_error = ""

    def stuck(self, waiting: int | None = None) -> None:
        """Work waits and did not move: the time since it last moved keeps counting."""
        if self.waiting == 0:
            self.moved_at = time.monotonic()  # it starts waiting now
        self.waiting = waiting

    def failed(self, error: str, waiting: int | None = None) -> None:
        """An attempt failed and the task will try again by itself."""
        self.stuck(waiting)
        self.last_error = error
        self.last_error_at = datetime.now(UTC)

    def stalled_for(self, now: float | None = None) -> float:
        """Seconds that waiting work has not moved (0 when nothing waits)."""
        if self.waiting == 0:
            return 0.0
        return max(0.0, (now or time.monotonic()) - self.moved_at)


Job = Callable[[Work], Awaitable[None]]


@dataclass
class Supervised:
    """One supervised task and what is known of it."""

    name: str
    job: Job
    work: Work = field(default_factory=Work)
    state: str = "starting"
    """running, restarting (waiting out its backoff) or stopped."""
    restarts: int = 0
    last_failure: str = ""
    last_failure_at: datetime | None = None
    task: asyncio.Task[None] | None = None

    def report(self, now: float) -> dict[str, Any]:
        error = self.work.last_error or self.last_failure
        at = self.work.last_error_at if self.work.last_error else self.last_failure_at
        return {
            "alive": self.state == "running",
            "state": self.state,
            "restarts": self.restarts,
            "last_error": error,
            "last_error_at": at.isoformat() if at else None,
            "lag_events": self.work.waiting,
            "lag_seconds": round(self.work.stalled_for(now), 1),
        }


class Supervisor:
    """Starts, restarts and stops a service's background tasks, and says how each is doing."""

    def __init__(self, service: str, *, stall_seconds: float = 30.0) -> None:
        self.service = service
        self.stall_seconds = stall_seconds
        self.tasks: dict[str, Supervised] = {}

    def start(self, name: str, job: Job) -> Supervised:
        """Run ``job(work)`` until :meth:`stop`, starting it again whenever it ends."""
        if name in self.tasks:
            msg = f"{self.service}: a task named {name} is already supervised"
            raise ValueError(msg)
        supervised = Supervised(name, job)
        supervised.task = asyncio.create_task(self._keep(supervised), name=f"{self.service}:{name}")
        self.tasks[name] = supervised
        return supervised

    async def _keep(self, supervised: Supervised) -> None:
        backoff = FIRST_BACKOFF
        while True:
            supervised.state = "running"
            started = time.monotonic()
            try:
                await supervised.job(supervised.work)
            except asyncio.CancelledError:
                supervised.state = "stopped"
                raise
            except Exception as e:
                supervised.last_failure = f"{type(e).__name__}: {e}"
                log.exception(
                    "%s: %s failed; starting it again in %.1f s",
                    self.service,
                    supervised.name,
                    backoff,
                )
            else:
                supervised.last_failure = "ended, though it should run until the service stops"
                log.error(
                    "%s: %s %s; starting it again in %.1f s",
                    self.service,
                    supervised.name,
                    supervised.last_failure,
                    backoff,
                )
            supervised.last_failure_at = datetime.now(UTC)
            supervised.restarts += 1
            supervised.state = "restarting"
            supervised.work.stuck(supervised.work.waiting)
            if time.monotonic() - started >= STEADY_AFTER:
                backoff = FIRST_BACKOFF
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)

    async def stop(self) -> None:
        """Cancel every task and wait until each has ended.

        A task still running a moment after its cancellation is cancelled again: on Python
        3.11 ``asyncio.wait_for`` returns its result instead of raising when the result and
        the cancellation arrive together, and nats-py waits for every message with it, so a
        consumer can swallow one cancellation and go on (and the service would never stop).
        """
        tasks = [s.task for s in self.tasks.values() if s.task is not None]
        running = set(tasks)
        while running:
            for task in running:
                task.cancel()
            _, running = await asyncio.wait(running, timeout=CANCEL_AGAIN_AFTER)
        await asyncio.gather(*tasks, return_exceptions=True)
        for supervised in self.tasks.values():
            supervised.state = "stopped"

    def report(self) -> dict[str, dict[str, Any]]:
        now = time.monotonic()
        return {name: s.report(now) for name, s in self.tasks.items()}

    def problems(self) -> list[str]:
        """Why the service is not ready, in words: a task not running, or work that waits and
        has not moved for longer than ``stall_seconds``."""
        now = time.monotonic()
        found = []
        for name, s in self.tasks.items():
            if s.state != "running":
                found.append(f"{name} is {s.state} ({s.last_failure or 'not started'})")
                continue
            stalled = s.work.stalled_for(now)
            if stalled > self.stall_seconds:
                waiting = "work" if s.work.waiting is None else f"{s.work.waiting} waiting"
                why = f": {s.work.last_error}" if s.work.last_error else ""
                found.append(f"{name} has not moved for {stalled:.0f} s ({waiting}){why}")
        return found
