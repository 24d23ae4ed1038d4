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
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from eventsourcing.persistence import InterfaceError, OperationalError
from eventsourcing.utils import get_topic
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from faststream.nats import NatsBroker
from nats.aio.client import Client
from nats.js import JetStreamContext

from shared.application import ServiceApplication
from shared.bus import connect, ensure_streams, nats_servers
from shared.consumer import ExactlyOnceConsumer
from shared.identity import TokenService
from shared.openapi import documented_app
from shared.relay import OutboxRelay, ToContract
from shared.settings import Settings
from shared.store import application_env
from shared.trust import Trust, load_trust

log = logging.getLogger(__name__)

T = TypeVar("T")


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
    background: tuple[Callable[[ServiceRuntime], Awaitable[None]], ...] = ()
    """Long-running work of the service (referral's notices and deadlines), each started with
    the runtime whether or not NATS is up, restarted after a failure, cancelled on stop."""


@dataclass
class ServiceRuntime:
    """Everything one service process runs, started and stopped together."""

    spec: ServiceSpec
    settings: Settings
    app: ServiceApplication = field(init=False)
    trust: Trust = field(init=False)
    tokens: TokenService = field(init=False)
    consumers: list[ExactlyOnceConsumer] = field(init=False)
    relay: OutboxRelay | None = field(init=False, default=None)
    nc: Client | None = field(init=False, default=None)
    broker: NatsBroker | None = field(init=False, default=None)
    _tasks: list[asyncio.Task[None]] = field(init=False, default_factory=list)
    # The relay's and consumers' store calls: stop() waits for them before closing the store.
    _executor: ThreadPoolExecutor = field(init=False)

    def __post_init__(self) -> None:
        self._executor = ThreadPoolExecutor(4, thread_name_prefix=f"{self.spec.name}-store")
        self.trust = load_trust(self.settings.trust_file)
        self.app = self.spec.application(application_env(self.settings, self.spec.name))
        self.tokens = TokenService(self.settings)
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
        for work in self.spec.background:
            self._tasks.append(asyncio.create_task(self._keep_running(work)))
        if not self.settings.nats_url:
            log.warning("%s: NATS_URL is not set; events stay in the outbox", self.spec.name)
            return
        self._tasks.append(asyncio.create_task(self._connect_and_run()))

    async def _connect_and_run(self) -> None:
        """Keep trying until NATS answers; then run the relay and the consumers."""
        js = await self._retry("NATS not ready", self._connect)
        if self.spec.published:
            self._start_relay(js)
        if self.consumers:
            self.broker = await self._retry("consumers not started", self._start_consumers)
        log.info("%s: connected to NATS", self.spec.name)

    def _start_relay(self, js: JetStreamContext) -> None:
        self.relay = OutboxRelay(
            self.app,
            self.spec.name,
            js,
            self.spec.to_contract,
            batch_size=self.settings.relay_batch_size,
            poll_seconds=self.settings.relay_poll_seconds,
            executor=self._executor,
            topics=[get_topic(cls) for cls in self.spec.published],
        )
        self._tasks.append(asyncio.create_task(self.relay.run()))

    async def _connect(self) -> JetStreamContext:
        if self.nc is not None:
            with contextlib.suppress(Exception):
                await self.nc.close()
        self.nc = await connect(self.settings.nats_url, f"{self.spec.name}-relay")
        js = self.nc.jetstream()
        await ensure_streams(js, self.settings)
        return js

    async def _start_consumers(self) -> NatsBroker:
        assert self.nc is not None
        broker = NatsBroker(
            nats_servers(self.settings.nats_url),
            max_reconnect_attempts=-1,
            reconnect_time_wait=1,
            name=f"{self.spec.name}-consumers",
            log_level=logging.DEBUG,  # one line per message is too many at INFO
        )
        for consumer in self.consumers:
            consumer.js = self.nc.jetstream()
            consumer.subscribe(broker, ack_wait_seconds=self.settings.consumer_ack_wait_seconds)
        try:
            await broker.start()
        except BaseException:
            with contextlib.suppress(Exception):
                await broker.stop()
            raise
        return broker

    async def _keep_running(self, work: Callable[[ServiceRuntime], Awaitable[None]]) -> None:
        backoff = 0.2
        while True:
            try:
                await work(self)
                return
            except Exception:
                # Background work must not take the service down: log it, and start it again.
                name = getattr(work, "__name__", "background work")
                log.exception("%s: %s failed; restarting", self.spec.name, name)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)

    async def _retry(self, what: str, step: Callable[[], Awaitable[T]]) -> T:
        backoff = 0.2
        while True:
            try:
                return await step()
            except Exception as e:
                # NATS not up yet, or gone again: keep trying while the HTTP API keeps serving.
                log.warning("%s: %s (%s); retrying in %.1fs", self.spec.name, what, e, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def stop(self) -> None:
        if self.broker is not None:
            # Unacked messages are redelivered, so a failed drain loses nothing.
            with contextlib.suppress(Exception):
                await self.broker.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.nc is not None:
            with contextlib.suppress(Exception):
                await self.nc.close()
        # A cancelled await does not stop its thread: let the last store call finish first.
        await asyncio.get_running_loop().run_in_executor(None, self._executor.shutdown)
        self.app.close()

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        """Store and NATS state, relay position and each upstream's progress."""
        report: dict[str, Any] = {"service": self.spec.name}
        try:
            head = self.app.recorder.max_notification_id() or 0
            report["store"] = {
                "ok": True,
                "events": head,
                # From the store, so a restart does not forget them.
                "dead_letters": [
                    f"{d.upstream}:{d.position} {d.subject}" for d in self.app.dead_letters()
                ][-20:],
            }
        except Exception as e:
            # Whatever the store raises is reported as not ready, never as a 500.
            head = 0
            report["store"] = {"ok": False, "error": type(e).__name__}
        nats_ok = bool(self.nc is not None and self.nc.is_connected)
        report["nats"] = {"ok": nats_ok, "configured": bool(self.settings.nats_url)}
        relay_ok = True
        if self.relay is not None:
            relay_ok = not self.relay.status.mismatched
            report["relay"] = {
                "ok": relay_ok,
                "published_position": self.relay.status.published_position,
                "last_error": self.relay.status.last_error,
            }
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
        if report["store"]["ok"]:
            with contextlib.suppress(Exception):  # reported above if the store is down
                report.update(self.app.health())
        return bool(report["store"]["ok"] and nats_ok and relay_ok), report


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
        """Store and NATS are reachable (200), or not (503), with what is known of each."""
        ready, report = request.app.state.runtime.readiness()
        report["status"] = "ready" if ready else "not ready"
        return JSONResponse(report, status_code=200 if ready else 503)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's default answer repeats the input: it may be personal data or an image.
        errors = [{"loc": e["loc"], "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        return JSONResponse({"detail": errors}, status_code=422)

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    async def store_unavailable(request: Request, exc: Exception) -> JSONResponse:
        # Nothing was recorded; the client retries (with the same Idempotency-Key on a POST).
        log.error("%s: store unavailable: %s", spec.name, type(exc).__name__)
        return JSONResponse(
            {"detail": "the case store is unavailable; nothing was recorded, retry shortly"},
            status_code=503,
            headers={"Retry-After": "5"},
        )

    app.include_router(router)
    return app
