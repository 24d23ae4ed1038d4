"""On a 3-node NATS cluster: streams with 3 replicas, and publishing goes on when a node dies."""

from __future__ import annotations

import asyncio

import pytest
from eventsourcing.utils import get_topic

from services.intake.adapters.contracts import PUBLISHED, to_contract
from services.intake.application import Intake
from shared.bus import connect, ensure_streams
from shared.embedded_nats import EmbeddedNats
from shared.relay import OutboxRelay
from tests.conftest import StoreChoice
from tests.helpers import eventually, report, stream_positions

pytestmark = pytest.mark.nats


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
async def test_three_replicas_keep_publishing_when_a_node_dies(
    store: StoreChoice, nats_cluster: list[EmbeddedNats]
) -> None:
    url = ",".join(node.url for node in nats_cluster)
    settings = store.settings(nats_url=url, stream_replicas=3)
    nc = await connect(url, "test")
    js = nc.jetstream()

    async def streams_declared() -> bool:
        try:
            await ensure_streams(js, settings)
        except Exception:
            # JetStream has no meta leader until the cluster has formed.
            return False
        return True

    await eventually(streams_declared, timeout=30, interval=0.5)
    info = await js.stream_info("INTAKE")
    assert info.config.num_replicas == 3

    intake = Intake(store.env("intake"))
    report(intake, 5)
    topics = [get_topic(cls) for cls in PUBLISHED]
    relay = OutboxRelay(intake, "intake", js, to_contract, topics=topics)
    task = asyncio.create_task(relay.run())
    try:
        head = intake.recorder.max_notification_id()
        await eventually(lambda: relay.status.published_position == head, timeout=30)
        # Kill a node the client is not connected to, so only the stream's replicas suffer.
        connected = nc.connected_url.port if nc.connected_url else None
        victim = next(node for node in nats_cluster if node.port != connected)
        victim.kill()
        report(intake, 5)
        head = intake.recorder.max_notification_id()
        await eventually(lambda: relay.status.published_position == head, timeout=30)
    finally:
        task.cancel()
    positions = await stream_positions(js, "INTAKE")
    assert len(positions) == 10
    assert positions == sorted(set(positions))
    await nc.close()
