"""The NATS JetStream backbone: connecting, and declaring the streams that hold history."""

from __future__ import annotations

import logging

from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError

from shared.contracts.streams import DEAD_LETTER_STREAM, PRODUCER_STREAMS, StreamSpec
from shared.settings import Settings

log = logging.getLogger(__name__)


def nats_servers(url: str) -> list[str]:
    return [part.strip() for part in url.split(",") if part.strip()]


async def connect(url: str, name: str) -> Client:
    """A connection that keeps trying to reconnect for as long as the service runs."""
    client = Client()

    async def on_disconnect() -> None:
        if not client.is_closed:  # closing it ourselves is not worth a warning
            log.warning("%s: disconnected from NATS", name)

    async def on_reconnect() -> None:
        log.info("%s: reconnected to NATS", name)

    async def on_error(e: Exception) -> None:
        log.debug("%s: NATS error: %s", name, e)

    await client.connect(
        servers=nats_servers(url),
        name=name,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,  # type: ignore[arg-type]  # typed int, used as seconds
        disconnected_cb=on_disconnect,
        reconnected_cb=on_reconnect,
        error_cb=on_error,
    )
    return client


def stream_config(spec: StreamSpec, settings: Settings) -> StreamConfig:
    """File storage, no age limit, and a broker that refuses to delete or purge history."""
    return StreamConfig(
        name=spec.name,
        subjects=list(spec.subjects),
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.NEW,
        max_age=0,
        max_msgs=-1,
        max_bytes=-1,
        num_replicas=settings.stream_replicas,
        duplicate_window=settings.duplicate_window_seconds,
        deny_delete=True,
        deny_purge=True,
        allow_rollup_hdrs=False,
    )


async def ensure_streams(js: JetStreamContext, settings: Settings) -> None:
    """Declare every producer's stream and the dead-letter stream (idempotent)."""
    for spec in (*PRODUCER_STREAMS.values(), DEAD_LETTER_STREAM):
        config = stream_config(spec, settings)
        try:
            await js.add_stream(config)
        except BadRequestError:
            # Exists with another configuration (an older replica count, say): bring it in line.
            # The broker itself refuses to turn deny_delete/deny_purge off once set.
            await js.update_stream(config)
