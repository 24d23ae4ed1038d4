"""Fault tests: real processes on loopback, each fault followed by new work that must flow."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.embedded_nats import EmbeddedNats, free_port
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
