"""The composition root of one service process: store, bus, relay, consumers and HTTP app.

Each service's ``entrypoint.py`` describes itself with a :class:`ServiceSpec` and its routes;
this module builds the rest the same way for all three, and the tests build a service through
the very same :func:`create_http_app`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from eventsourcing.persistence import PersistenceError
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from nats.aio.client import Client
from nats.errors import Error as NatsError
from nats.js import JetStreamContext

from shared.application import ServiceApplication
from shared.bus import connect, ensure_streams
from shared.conflicts import WRITES, RetryConflicts
from shared.consumer import ExactlyOnceConsumer
from shared.identity import TokenService
from shared.openapi import documented_app
from shared.publishing import ToContract
from shared.relay import OutboxRelay
from shared.settings import Settings
from shared.store import application_env
from shared.supervisor import Supervisor, Work
from shared.topics import topics_of
from shared.trust import Trust, load_trust

log = logging.getLogger(__name__)

STORE_PROBE_SECONDS = 1.0
"""How long /readyz waits for the store to answer before it says the store does not."""
WRITE_PROBE_SECONDS = 1.0
"""How often a store known to refuse writes is tried again (see :mod:`shared.store_writes`)."""


Background = Callable[["ServiceRuntime", Work], Awaitable[None]]
"""Long-running work of a service: given the runtime and the :class:`Work` record it keeps."""


@dataclass(frozen=True)
class ServiceSpec:
    """What makes one service different from the others."""

    name: str
    application: Callable[[dict[str, str]], ServiceApplication]
    to_contract: ToContract
    published: tuple[type, ...] = ()
    """The stored event classes the relay publishes (through ``to_contract``)."""
    upstreams: tuple[str, ...] = ()
    description: str = ""
    background: tuple[tuple[str, Background], ...] = ()
    """Long-running work of the service by name (referral's deadlines and deliveries), each
    started with the runtime whether or not NATS is up, supervised, cancelled on stop."""


@dataclass
class ServiceRuntime:
    """Everything one service process runs, started and stopped together.

    The background work (the NATS connection, the relay, each upstream's consumer and the
    service's own) runs under one :class:`Supervisor`, which restarts whatever fails and tells
    :meth:`readiness` how each task's work moves.
    """

    spec: ServiceSpec
    settings: Settings
    app: ServiceApplication = field(init=False)
    trust: Trust = field(init=False)
    tokens: TokenService = field(init=False)
    consumers: list[ExactlyOnceConsumer] = field(init=False)
    relay: OutboxRelay | None = field(init=False, default=None)
    nc: Client | None = field(init=False, default=None)
    supervisor: Supervisor = field(init=False)
    _js: asyncio.Future[JetStreamContext] | None = field(init=False, default=None)
    _store_probe: Future[dict[str, Any]] | None = field(init=False, default=None)
    _probe_executor: ThreadPoolExecutor = field(init=False)
    # The relay's and consumers' store calls: stop() waits for them before closing the store.
    _executor: ThreadPoolExecutor = field(init=False)

    def __post_init__(self) -> None:
        self._executor = ThreadPoolExecutor(4, thread_name_prefix=f"{self.spec.name}-store")
        self._probe_executor = ThreadPoolExecutor(1, thread_name_prefix=f"{self.spec.name}-probe")
        self.trust = load_trust(self.settings.trust_file)
        self.app = self.spec.application(application_env(self.settings, self.spec.name))
        self.tokens = TokenService(self.settings)
        self.supervisor = Supervisor(self.spec.name, stall_seconds=self.settings.stall_seconds)
        self.consumers = [
            ExactlyOnceConsumer(
                self.app,
                self.spec.name,
                upstream,
                max_attempts=self.settings.consumer_max_attempts,
                backoff_seconds=self.settings.consumer_backoff_seconds,
                executor=self._executor,
            )
            for upstream in self.spec.upstreams
        ]

    @property
    def store_executor(self) -> ThreadPoolExecutor:
        """Where background work runs its store calls: :meth:`stop` waits for them."""
        return self._executor

    async def start(self) -> None:
        """Start the background work, and connect to NATS in the background: the HTTP API
        serves (and stores) without it."""
        for name, work in self.spec.background:
            self.supervisor.start(name, partial(work, self))
        self.supervisor.start("store writes", self._probe_store_writes)
        if not self.settings.nats_url:
            log.warning("%s: NATS_URL is not set; events stay in the outbox", self.spec.name)
            return
        self._js = asyncio.get_running_loop().create_future()
        self.supervisor.start("nats", self._keep_connected)
        if self.spec.published:
            self.supervisor.start("relay", self._run_relay)
        for consumer in self.consumers:
            self.supervisor.start(
                f"consumer from {consumer.upstream}", partial(self._run_consumer, consumer)
            )

    async def _probe_store_writes(self, work: Work) -> None:
        """While the store is known to refuse writes (full, read-only), try a small write
        every second, so that /readyz says ready again as soon as the store takes one."""
        loop = asyncio.get_running_loop()
        writes = self.app.store_writes
        while True:
            if writes.refusing:
                await loop.run_in_executor(self._executor, writes.probe, self.app.recorder)
            await asyncio.sleep(WRITE_PROBE_SECONDS)

    async def _jetstream(self) -> JetStreamContext:
        assert self._js is not None, "started with a NATS_URL"
        return await asyncio.shield(self._js)

    async def _keep_connected(self, work: Work) -> None:
        """Connect (trying until NATS answers) and declare the streams; then stay, so that a
        lost connection (nats-py reconnects by itself) is seen on /readyz."""
        assert self._js is not None
        if not self._js.done():
            backoff = 0.2
            while True:
                try:
                    self._js.set_result(await self._connect())
                    break
                except (NatsError, OSError, TimeoutError) as e:
                    # NATS not up yet, or gone again: keep trying while the HTTP API serves.
                    work.failed(f"NATS not reachable: {type(e).__name__}: {e}", None)
                    log.warning(
                        "%s: NATS not ready (%s); retrying in %.1fs", self.spec.name, e, backoff
                    )
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
            log.info("%s: connected to NATS", self.spec.name)
        while True:
            if self.nc is not None and self.nc.is_connected:
                work.moved(0)
            else:
                work.failed("NATS connection lost; reconnecting", None)
            await asyncio.sleep(1.0)

    async def _connect(self) -> JetStreamContext:
        if self.nc is not None:
            with contextlib.suppress(Exception):
                await self.nc.close()
        self.nc = await connect(self.settings.nats_url, f"{self.spec.name}")
        js = self.nc.jetstream()
        await ensure_streams(js, self.settings)
        return js

    async def _run_relay(self, work: Work) -> None:
        js = await self._jetstream()
        if self.relay is None:
            self.relay = OutboxRelay(
                self.app,
                self.spec.name,
                js,
                self.spec.to_contract,
                batch_size=self.settings.relay_batch_size,
                poll_seconds=self.settings.relay_poll_seconds,
                executor=self._executor,
                topics=list(topics_of(*self.spec.published)),
            )
        await self.relay.run(work)

    async def _run_consumer(self, consumer: ExactlyOnceConsumer, work: Work) -> None:
        await consumer.run(
            await self._jetstream(),
            work,
            ack_wait_seconds=self.settings.consumer_ack_wait_seconds,
        )

    async def stop(self) -> None:
        # Unacked messages are redelivered, so a consumer stopped mid-message loses nothing.
        await self.supervisor.stop()
        if self.nc is not None:
            with contextlib.suppress(Exception):
                await self.nc.close()
        # A cancelled await does not stop its thread: let the last store call finish first.
        await asyncio.get_running_loop().run_in_executor(None, self._executor.shutdown)
        self._probe_executor.shutdown(wait=False, cancel_futures=True)
        self.app.close()

    def _store_report(self) -> dict[str, Any]:
        """What the store says: its head, its dead letters (each case that needs a person's
        attention) and what the service adds (:meth:`ServiceApplication.health`)."""
        head = self.app.recorder.max_notification_id() or 0
        dead_letters = self.app.dead_letters()
        return {
            "store": {
                "ok": True,
                "events": head,
                # From the store, so a restart does not forget them.
                "dead_letters": [f"{d.upstream}:{d.position} {d.subject}" for d in dead_letters][
                    -20:
                ],
            },
            # A dead letter moved the stream on, but its case needs a person's attention.
            "attention": [
                {
                    "case_id": d.case_id,
                    "why": f"{d.subject} from {d.upstream} (position {d.position}) was set "
                    f"aside after {d.attempts} attempts: {d.error}",
                }
                for d in dead_letters
            ][-20:],
            **self.app.health(),
        }

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        """Store and NATS state, each background task's state and lag, the relay's position
        and each upstream's progress; not ready, with the reasons, when anything cannot move."""
        report: dict[str, Any] = {"service": self.spec.name}
        problems: list[str] = []
        # In a thread of its own, and waited for briefly: a store that does not answer (its
        # server gone, its connections being retried) must not make /readyz hang too.
        if self._store_probe is None or self._store_probe.done():
            self._store_probe = self._probe_executor.submit(self._store_report)
        try:
            report.update(self._store_probe.result(timeout=STORE_PROBE_SECONDS))
        except TimeoutError:
            report["store"] = {"ok": False, "error": "no answer"}
        except Exception as e:
            # Whatever the store raises is reported as not ready, never as a 500.
            report["store"] = {"ok": False, "error": type(e).__name__}
        if not report["store"]["ok"]:
            error = report["store"]["error"]
            problems.append(
                f"the store did not answer within {STORE_PROBE_SECONDS:g} s"
                if error == "no answer"
                else f"the store is unavailable ({error})"
            )
        if refused := self.app.store_writes.problem():
            # Reads may still work (a full disk, a read-only database): writes are what fail.
            report["store"]["refuses_writes"] = refused
            problems.append(refused)
        nats_ok = bool(self.nc is not None and self.nc.is_connected)
        report["nats"] = {"ok": nats_ok, "configured": bool(self.settings.nats_url)}
        if self.settings.nats_url and not nats_ok:
            problems.append("NATS is not connected")
        report["tasks"] = self.supervisor.report()
        problems.extend(self.supervisor.problems())
        if self.relay is not None:
            report["relay"] = {
                "ok": not self.relay.status.halted,
                "published_position": self.relay.status.published_position,
                "last_error": self.relay.status.last_error,
            }
            if self.relay.status.halted:
                problems.append(f"the relay is halted: {self.relay.status.last_error}")
        report["upstreams"] = {
            c.upstream: {
                "position": c.status.position,
                "applied": c.status.applied,
                "duplicates": c.status.duplicates,
                "failures": c.status.failures,
                "dead_letters": c.status.dead_letters,
                "dead_lettered": c.status.dead_lettered[-20:],
                "last_error": c.status.last_error,
            }
            for c in self.consumers
        }
        report["problems"] = problems
        return not problems, report


def create_http_app(
    spec: ServiceSpec,
    settings: Settings,
    router: APIRouter,
) -> FastAPI:
    """The service's HTTP API with its runtime started and stopped by the app's lifespan."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = ServiceRuntime(spec, settings)
        app.state.runtime = runtime
        app.state.tokens = runtime.tokens
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = documented_app(
        title=f"safeguard {spec.name}",
        description=spec.description,
        version="0.1.0",
        lifespan=lifespan,
    )

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok", "service": spec.name}

    @app.get("/readyz", tags=["health"])
    def readyz(request: Request) -> JSONResponse:
        """200 when the store and NATS are reachable and every background task runs with its
        work moving; else 503, naming each problem. Reports each task's state, restarts, last
        error and lag (events waiting, seconds without moving)."""
        ready, report = request.app.state.runtime.readiness()
        report["status"] = "ready" if ready else "not ready"
        return JSONResponse(report, status_code=200 if ready else 503)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's default answer repeats the input: it may be personal data or an image.
        errors = [{"loc": e["loc"], "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        return JSONResponse({"detail": errors}, status_code=422)

    @app.exception_handler(PersistenceError)
    async def store_unavailable(request: Request, exc: Exception) -> JSONResponse:
        # eventsourcing's own errors: a full or read-only store is an OperationalError or an
        # InternalError, a lost connection an OperationalError or InterfaceError.
        refused = request.app.state.runtime.app.store_writes.refused(exc)
        if refused is None:
            raise exc  # not the store refusing (a bug, a conflict not caught): a 500, logged
        # Nothing was recorded; the client retries (with the same Idempotency-Key on a POST).
        log.error("%s: %s %s refused: %s", spec.name, request.method, request.url.path, refused)
        return JSONResponse(
            {
                "detail": f"{refused.what}: nothing was recorded; send it again shortly, "
                "with the same Idempotency-Key"
                if request.method in WRITES
                else f"{refused.what}; try again shortly"
            },
            status_code=503,
            headers={"Retry-After": "5"},
        )

    app.add_middleware(RetryConflicts)
    app.include_router(router)
    return app
