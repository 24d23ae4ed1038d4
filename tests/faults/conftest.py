"""Fault tests: real processes on loopback, each fault followed by new work that must flow."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from nats.errors import Error as NatsError

from shared.bus import connect, ensure_streams
from shared.embedded_nats import EmbeddedNats, free_port
from shared.settings import Settings
from tests.conftest import StoreChoice
from tests.faults.deployment import Deployment


@pytest.fixture
def deployment(
    store: StoreChoice, nats_server: EmbeddedNats, tmp_path: Path
) -> Iterator[Deployment]:
    """The three services, started, on this test's store and nats-server."""
    settings = store.settings(
        nats_url=nats_server.url,
        intake_port=free_port(),
        referral_port=free_port(),
        review_port=free_port(),
        consumer_ack_wait_seconds=2.0,
    )
    running = Deployment(settings, tmp_path)
    running.start()
    yield running
    running.close()
    running.stop()


@pytest.fixture
def nats_cluster(tmp_path: Path) -> Iterator[list[EmbeddedNats]]:
    """Three nats-server nodes routed into one cluster, each with its JetStream data in a
    directory of its own (so a node killed and started again comes back with what it had)."""
    route_ports = [free_port() for _ in range(3)]
    nodes = [
        EmbeddedNats(
            tmp_path / f"node{i}",
            log_file=tmp_path / f"node{i}.log",
            cluster="safeguard-faults",
            cluster_port=route_ports[i],
            routes=tuple(p for j, p in enumerate(route_ports) if j != i),
        )
        for i in range(3)
    ]
    for node in nodes:
        node.start()
    yield nodes
    for node in nodes:
        node.stop()


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
    settings = store.settings(
        nats_url=",".join(node.url for node in nats_cluster),
        stream_replicas=3,
        intake_port=free_port(),
        referral_port=free_port(),
        review_port=free_port(),
        consumer_ack_wait_seconds=2.0,
    )
    declare_streams_when_formed(settings)
    running = Deployment(settings, tmp_path, {"SAFEGUARD_STREAM_REPLICAS": "3"})
    running.start()
    yield running
    running.close()
    running.stop()
