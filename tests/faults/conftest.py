"""Fault tests: real processes on loopback, each fault followed by new work that must flow."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from nats.errors import Error as NatsError

from shared.bus import connect, ensure_streams
from shared.embedded_nats import EmbeddedNats
from shared.settings import Settings
from tests.conftest import StoreChoice
from tests.faults.deployment import Deployment, fault_settings, running


@pytest.fixture
def deployment(
    store: StoreChoice, nats_server: EmbeddedNats, tmp_path: Path
) -> Iterator[Deployment]:
    """The three services, started, on this test's store and nats-server."""
    with running(fault_settings(store, nats_server.url), tmp_path) as started:
        yield started


def declare_streams_when_formed(settings: Settings, timeout: float = 30.0) -> None:
    """Declare the streams as the services will, once the cluster has elected a JetStream
    meta leader: until then every JetStream request is refused."""

    async def declare() -> None:
        nc = await connect(settings.nats_url, "faults-setup")
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    await ensure_streams(nc.jetstream(), settings)
                    return
                except (NatsError, TimeoutError):
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.5)
        finally:
            await nc.close()

    asyncio.run(declare())


@pytest.fixture
def cluster_deployment(
    store: StoreChoice, nats_cluster: list[EmbeddedNats], tmp_path: Path
) -> Iterator[Deployment]:
    """The three services on a 3-node cluster whose streams keep 3 replicas; started only once
    the cluster has formed and the streams are declared."""
    settings = fault_settings(store, ",".join(node.url for node in nats_cluster), stream_replicas=3)
    declare_streams_when_formed(settings)
    with running(settings, tmp_path, {"SAFEGUARD_STREAM_REPLICAS": "3"}) as started:
        yield started
