"""Fault 6: the store refuses writes, then takes them again.

On SQLite the store is full: the deployment's var dir is a small tmpfs of its own, filled to
the last block by a file, then freed. On PostgreSQL it is read-only: a database of the test's
own is made read-only as an administrator would (``default_transaction_read_only``, the
sessions open on it ended so that they come back read-only), then writable again by the
setting alone, so that the sessions the services opened meanwhile stay read-only unless the
services replace them.

While the store refuses, a request is answered 503 with ``Retry-After`` and the reason in
words, never 500, and nothing of it is recorded; the background tasks that write (consumers
applying upstream messages, the relay noting its position) fail, never set a message aside for
it, and ``/readyz`` says 503 naming the cause. Once the store takes writes, everything recovers
by itself: ``/readyz`` says 200, what waited flows, the refused request sent again records one
case, and new disclosures and DSL decisions reach referral and review exactly once, in order.

The bugs this was written for: a read-only PostgreSQL was a 500; the reason was never said
(503 "unavailable", and /readyz 200 between the relay's restarts); a consumer set aside as a
dead letter the message the store refused; once PostgreSQL was writable again, the services'
sessions stayed read-only for ever.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
import pytest
from eventsourcing.utils import get_topic
from psycopg import sql

from services.intake.adapters.contracts import PUBLISHED, to_contract
from services.intake.application import Intake
from shared.bus import connect, ensure_streams
from shared.contracts.streams import DEAD_LETTER_STREAM
from shared.embedded_nats import EmbeddedNats, free_port
from shared.relay import RELAY_TRACKING_NAME, OutboxRelay
from shared.settings import SERVICE_NAMES, Settings
from shared.store import store_env
from shared.supervisor import Work
from tests.conftest import POSTGRES_URL, StoreChoice
from tests.faults.deployment import Deployment, Readiness
from tests.helpers import eventually, report, stream_positions

pytestmark = [pytest.mark.e2e, pytest.mark.faults]

MAX_ATTEMPTS = 3
"""SAFEGUARD_CONSUMER_MAX_ATTEMPTS here: a message failing this often would be a dead letter."""


class StoreFault(Protocol):
    """A store that can be made to refuse writes, and to take them again."""

    what: str
    """How the product names it: "the case store is <what>"."""

    def settings(self, **overrides: object) -> Settings: ...

    def refuse(self) -> None: ...

    def allow(self) -> None: ...


class FullVolume:
    """The var dir (the SQLite stores) on a tmpfs of its own, which :meth:`refuse` fills."""

    what = "full"

    def __init__(self, store: StoreChoice, tmp_path: Path) -> None:
        self.store = store
        self.var = tmp_path / "var"  # StoreChoice's var_dir
        self.var.mkdir()
        self.filler = self.var / "filler"
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=16m,mode=0700", "tmpfs", str(self.var)],
            capture_output=True,
            text=True,
            check=False,
        )
        if mounted.returncode != 0:
            # A skip would pass for a fault that was never tested: CI runs as root, as here.
            pytest.fail(f"cannot mount a tmpfs here (root is needed): {mounted.stderr.strip()}")

    def settings(self, **overrides: object) -> Settings:
        return self.store.settings(**overrides)

    def refuse(self) -> None:
        """Take every free block: the next write that needs a new one fails (ENOSPC)."""
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            chunk = 1 << 20
            while chunk >= 4096:  # the last, partly free, pages too
                try:
                    os.write(fd, bytes(chunk))
                except OSError as e:
                    if e.errno != errno.ENOSPC:
                        raise
                    chunk //= 2
        finally:
            os.close(fd)

    def allow(self) -> None:
        self.filler.unlink()

    def close(self) -> None:
        if subprocess.run(["umount", str(self.var)], check=False).returncode != 0:
            subprocess.run(["umount", "--lazy", str(self.var)], check=True)


class ReadOnlyDatabase:
    """A PostgreSQL database of the test's own, which :meth:`refuse` makes read-only."""

    what = "read-only"

    def __init__(self, store: StoreChoice) -> None:
        self.store = store
        self.name = f"safeguard_fault_{uuid.uuid4().hex[:10]}"
        self.url = urlunsplit(urlsplit(POSTGRES_URL)._replace(path=f"/{self.name}"))
        self._admin("CREATE DATABASE {}")

    def _admin(self, statement: str) -> None:
        # On the suite's own database, so that this test's never has a session of the test.
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(sql.SQL(statement).format(sql.Identifier(self.name)))

    def settings(self, **overrides: object) -> Settings:
        return self.store.settings(database_url=self.url, **overrides)

    def refuse(self) -> None:
        """Read-only for new sessions; every open session ended, so each comes back so."""
        self._admin("ALTER DATABASE {} SET default_transaction_read_only = on")
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (self.name,),
            )

    def allow(self) -> None:
        """Writable for new sessions; those opened meanwhile are left as they are."""
        self._admin("ALTER DATABASE {} RESET default_transaction_read_only")

    def close(self) -> None:
        self._admin("DROP DATABASE IF EXISTS {} WITH (FORCE)")


@pytest.fixture
def fault(store: StoreChoice, tmp_path: Path) -> Iterator[StoreFault]:
    """SQLite full, or PostgreSQL read-only; unmounted or dropped afterwards, whatever happened."""
    made = FullVolume(store, tmp_path) if store.kind == "sqlite" else ReadOnlyDatabase(store)
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def deployment(
    fault: StoreFault, nats_server: EmbeddedNats, tmp_path: Path
) -> Iterator[Deployment]:
    """The three services on the store the fault is made to, started; stopped before the fault's
    volume or database is removed."""
    settings = fault.settings(
        nats_url=nats_server.url,
        intake_port=free_port(),
        referral_port=free_port(),
        review_port=free_port(),
        consumer_ack_wait_seconds=2.0,
    )
    running = Deployment(settings, tmp_path, {"SAFEGUARD_CONSUMER_MAX_ATTEMPTS": str(MAX_ATTEMPTS)})
    running.start()
    try:
        yield running
    finally:
        for process in running.processes.values():
            process.send_signal(signal.SIGCONT)  # a test that failed while they were held
        running.close()
        running.stop()


@contextlib.contextmanager
def held(deployment: Deployment, *names: str) -> Iterator[None]:
    """The services ``names`` stopped still (SIGSTOP) until the block ends: what is published
    meanwhile waits for them in the stream."""
    for name in names:
        deployment.processes[name].send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        for name in names:
            deployment.processes[name].send_signal(signal.SIGCONT)


def disclose(deployment: Deployment, key: str) -> httpx.Response:
    """One attempt at recording a disclosure, as a school's client sends it."""
    return deployment.http.post(
        f"{deployment.url('intake')}/cases",
        json={"school": "OAK", "disclosure_route": "peer", "summary": f"Invented {key}"},
        headers={**deployment.staff, "Idempotency-Key": key},
    )


def wait_for(what: str, probe: Callable[..., Any], *args: Any, timeout: float = 20.0) -> Any:
    """``probe(*args)`` once it is true; fails saying ``what`` did not happen."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = probe(*args)
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout}s: {what}; last: {last!r}")


def naming(deployment: Deployment, name: str, what: str) -> list[str]:
    """The problems on ``name``'s /readyz that say the store is ``what``, with the cause."""
    report = deployment.readyz(name)
    return [p for p in report["problems"] if p.startswith(f"the case store is {what} (")]


def retried_beyond(deployment: Deployment, name: str, attempts: int) -> bool:
    """Whether ``name``'s consumer of intake has failed more than ``attempts`` times."""
    failures: int = deployment.readyz(name)["upstreams"]["intake"]["failures"]
    return failures > attempts


def seen_from(readiness: Readiness, name: str, start: int, end: int | None = None) -> set[int]:
    """The statuses the watch saw of ``name`` from its ``start``-th answer (up to ``end``)."""
    return {status for _, status in readiness.seen[name][start:end]}


def dead_letters(nats_url: str) -> int:
    async def count() -> int:
        nc = await connect(nats_url, "fault-test")
        try:
            return (await nc.jetstream().stream_info(DEAD_LETTER_STREAM.name)).state.messages
        finally:
            await nc.close()

    return asyncio.run(count())


def test_a_store_that_refuses_writes_is_503_with_the_reason_and_recovers_by_itself(
    deployment: Deployment, fault: StoreFault
) -> None:
    before = deployment.new_work("before", 2)
    deployment.wait_flowed(before)

    readiness = deployment.watch()
    with held(deployment, "referral", "review"):
        waiting = deployment.disclose(2, "waiting")  # published; held from referral and review
        fault.refuse()
        refused = disclose(deployment, "refused")
        assert refused.status_code == 503, refused.text
        assert refused.headers["Retry-After"] == "5"
        detail = refused.json()["detail"]
        assert detail.startswith(f"the case store is {fault.what}: nothing was recorded"), detail
        assert "send it again shortly, with the same Idempotency-Key" in detail
        # Reading needs no write: a case is still shown.
        case = f"{deployment.url('intake')}/cases/{before[0]}"
        assert deployment.http.get(case, headers=deployment.dsl).status_code == 200

    # Each service says why it cannot work: intake from the refused disclosure (and its relay),
    # referral and review from their consumers, whose store refuses what intake published.
    named_at = {}
    for name in SERVICE_NAMES:
        wait_for(f"{name}'s /readyz names the cause", naming, deployment, name, fault.what)
        named_at[name] = len(readiness.seen[name]) + 1  # past a /readyz asked before that
    for name in ("referral", "review"):
        # Refused more often than a failing message may be before it is set aside as a dead
        # letter, and still tried: the message is not at fault.
        wait_for(
            f"{name}'s consumer tried the refused message more than {MAX_ATTEMPTS} times",
            retried_beyond,
            deployment,
            name,
            MAX_ATTEMPTS,
        )
        task = deployment.readyz(name)["tasks"]["consumer from intake"]
        assert task["alive"], task
    assert dead_letters(deployment.settings.nats_url) == 0
    freed_at = {name: len(readiness.seen[name]) for name in SERVICE_NAMES}

    fault.allow()
    deployment.wait_ready(timeout=20)
    for name in SERVICE_NAMES:
        wait_for(
            f"the watch sees {name} ready",
            lambda n: 200 in seen_from(readiness, n, freed_at[n]),
            name,
        )
    deployment.unwatch()
    for name in SERVICE_NAMES:
        # Never ready while the store refused (0 would be a /readyz that did not answer).
        while_refused = seen_from(readiness, name, named_at[name], freed_at[name])
        assert 503 in while_refused, (name, readiness.seen[name])
        assert 200 not in while_refused, (name, readiness.seen[name])
        assert readiness.seen[name][-1][1] == 200, (name, readiness.seen[name][-5:])

    deployment.wait_flowed(waiting, timeout=30)
    # The refused disclosure, sent again with its key: recorded now (201), and once.
    first = disclose(deployment, "refused")
    assert first.status_code == 201, first.text
    again = disclose(deployment, "refused")
    assert again.status_code == 200, again.text
    assert again.json()["case_id"] == first.json()["case_id"]
    recovered = first.json()["case_id"]
    deployment.decide([recovered], "refused")
    after = deployment.new_work("after", 3)
    deployment.wait_flowed([recovered, *after], timeout=30)
    deployment.wait_flowed(before + waiting, timeout=5)  # still once each

    # Nothing half written: the refused attempt took no reference (each case's number follows
    # the one before), and no message was set aside for want of a store.
    cases = [*before, *waiting, recovered, *after]
    references = [
        deployment.http.get(f"{deployment.url('intake')}/cases/{c}", headers=deployment.dsl).json()[
            "reference"
        ]
        for c in cases
    ]
    numbers = [int(r.rsplit("-", 1)[1]) for r in references]
    assert numbers == list(range(numbers[0], numbers[0] + len(cases))), references
    for name in ("referral", "review"):
        report = deployment.readyz(name)
        assert report["store"]["dead_letters"] == [], report["store"]
        assert report["problems"] == [], report["problems"]
    assert dead_letters(deployment.settings.nats_url) == 0


async def test_the_relay_goes_on_while_the_store_refuses_its_position_and_notes_it_after(
    fault: StoreFault, nats_server: EmbeddedNats
) -> None:
    settings = fault.settings(nats_url=nats_server.url)
    intake = Intake(store_env(settings, "intake"))
    report(intake, 3)
    head = intake.recorder.max_notification_id()
    nc = await connect(nats_server.url, "fault-test")
    js = nc.jetstream()
    await ensure_streams(js, settings)
    topics = [get_topic(cls) for cls in PUBLISHED]
    relay = OutboxRelay(intake, "intake", js, to_contract, poll_seconds=0.1, topics=topics)
    work = Work()
    fault.refuse()
    task = asyncio.create_task(relay.run(work))
    try:
        # Publishing reads the store only: it goes on. Noting the position is refused, said.
        await eventually(lambda: relay.status.published_position == head)
        await eventually(lambda: f"the case store is {fault.what}" in intake.store_writes.problem())
        await eventually(lambda: work.last_error)
        assert not task.done(), task
        assert intake.recorder.max_tracking_id(RELAY_TRACKING_NAME) is None

        fault.allow()
        await eventually(lambda: intake.recorder.max_tracking_id(RELAY_TRACKING_NAME) == head)
        await eventually(lambda: work.last_error == "")
        assert not task.done(), task
        stored = intake.recorder.select_notifications(start=None, limit=100, topics=topics)
        assert await stream_positions(js, "INTAKE") == [n.id for n in stored]  # once, in order
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await nc.close()
        intake.close()
