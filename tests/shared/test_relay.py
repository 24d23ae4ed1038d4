"""The outbox relay against a real nats-server, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
from eventsourcing.utils import get_topic
from nats.js.errors import BadRequestError, ServerError

from services.intake.adapters.contracts import PUBLISHED, to_contract
from services.intake.application import Intake
from shared.bus import connect, ensure_streams
from shared.embedded_nats import EmbeddedNats
from shared.relay import RELAY_TRACKING_NAME, Batch, OutboxRelay
from tests.conftest import StoreChoice
from tests.helpers import eventually, report, stream_positions

pytestmark = pytest.mark.nats


class SimulatedCrash(BaseException):
    """Stands for the process dying at a chosen point: nothing after it runs."""


async def test_publishes_every_stored_event_once_in_order(
    store: StoreChoice, nats_server: EmbeddedNats
) -> None:
    intake = Intake(store.env("intake"))
    incidents = report(intake, 5)
    nc = await connect(nats_server.url, "test")
    js = nc.jetstream()
    await ensure_streams(js, store.settings())
    topics = [get_topic(cls) for cls in PUBLISHED]  # as the runtime does: private events unread
    relay = OutboxRelay(intake, "intake", js, to_contract, batch_size=2, topics=topics)
    task = asyncio.create_task(relay.run())
    try:
        await eventually(
            lambda: relay.status.published_position == intake.recorder.max_notification_id()
        )
        report(intake, 1)  # woken by the commit, not by the poll
        await eventually(
            lambda: relay.status.published_position == intake.recorder.max_notification_id()
        )
        # Noted in the store too (at most once a second: the stream is the durable position).
        head = intake.recorder.max_notification_id()
        await eventually(lambda: intake.recorder.max_tracking_id(RELAY_TRACKING_NAME) == head)
    finally:
        task.cancel()
    positions = await stream_positions(js, "INTAKE")
    # Only Incident.Reported is public: the reference sequence's events stay private.
    reported = [
        n.id
        for n in intake.recorder.select_notifications(start=None, limit=100)
        if n.topic.endswith("Incident.Reported")
    ]
    assert positions == reported
    assert len(positions) == len(incidents) + 1
    await nc.close()


async def test_relay_killed_after_publishing_before_recording_publishes_nothing_twice(
    store: StoreChoice, nats_server: EmbeddedNats, monkeypatch: pytest.MonkeyPatch
) -> None:
    intake = Intake(store.env("intake"))
    report(intake, 4)
    nc = await connect(nats_server.url, "test")
    js = nc.jetstream()
    await ensure_streams(js, store.settings())

    def crash(self: OutboxRelay, position: int) -> None:
        raise SimulatedCrash

    with monkeypatch.context() as m:
        m.setattr(OutboxRelay, "_record_position", crash)
        crashed = OutboxRelay(intake, "intake", js, to_contract)
        with pytest.raises(SimulatedCrash):
            await crashed.run()
    published = await stream_positions(js, "INTAKE")
    assert len(published) == 4
    assert intake.recorder.max_tracking_id(RELAY_TRACKING_NAME) is None

    # Restarted with the position it recorded (none): every re-publish is a duplicate.
    restarted_app = Intake(store.env("intake"))
    report(restarted_app, 2)
    restarted = OutboxRelay(restarted_app, "intake", js, to_contract)
    await restarted.publish_once(0)
    # ... and as it really restarts: from the stream's own last message.
    task = asyncio.create_task(restarted.run())
    try:
        await eventually(
            lambda: (
                restarted.status.published_position == restarted_app.recorder.max_notification_id()
            )
        )
    finally:
        task.cancel()
    after = await stream_positions(js, "INTAKE")
    assert after[:4] == published
    assert len(after) == 6
    assert after == sorted(set(after))
    await nc.close()


@pytest.fixture
async def js(store: StoreChoice, nats_server: EmbeddedNats):  # type: ignore[no-untyped-def]
    """A JetStream context with the product's streams declared."""
    nc = await connect(nats_server.url, "test")
    js = nc.jetstream()
    await ensure_streams(js, store.settings())
    yield js
    await nc.close()


async def test_broker_refuses_a_message_whose_predecessor_is_missing(js) -> None:  # type: ignore[no-untyped-def]
    await js.publish("intake.x", b"{}", headers={"Nats-Msg-Id": "intake:1"})
    with pytest.raises(BadRequestError):
        await js.publish(
            "intake.x",
            b"{}",
            headers={"Nats-Msg-Id": "intake:3", "Nats-Expected-Last-Msg-Id": "intake:2"},
        )


async def test_stream_refuses_delete_and_purge(js) -> None:  # type: ignore[no-untyped-def]
    await js.publish("intake.x", b"{}", headers={"Nats-Msg-Id": "intake:1"})
    with pytest.raises(ServerError):
        await js.delete_msg("INTAKE", 1)
    with pytest.raises(ServerError):
        await js.purge_stream("INTAKE")
    info = await js.stream_info("INTAKE")
    assert info.state.messages == 1
    assert info.config.deny_delete
    assert info.config.deny_purge
    assert info.config.max_age == 0
    assert str(info.config.storage) in ("file", "StorageType.FILE")


async def test_a_store_behind_its_stream_publishes_nothing_and_says_why(
    store: StoreChoice,
    js,
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    first = Intake(store.env("intake"))
    report(first, 3)
    relay = OutboxRelay(first, "intake", js, to_contract)
    task = asyncio.create_task(relay.run())
    await eventually(
        lambda: relay.status.published_position == first.recorder.max_notification_id()
    )
    task.cancel()
    before = await stream_positions(js, "INTAKE")

    # Another, empty store against the same stream: its events would hide behind the stream's.
    other = StoreChoice(store.kind, tmp_path / "other")
    try:
        stranger = Intake(other.env("intake"))
        report(stranger, 1)
        wrong = OutboxRelay(stranger, "intake", js, to_contract)
        task = asyncio.create_task(wrong.run())
        await eventually(lambda: wrong.status.mismatched)
        task.cancel()
        assert "not the same history" in wrong.status.last_error
        assert await stream_positions(js, "INTAKE") == before
    finally:
        other.cleanup()


async def test_nats_killed_mid_backlog_leaves_no_hole_and_no_duplicate(
    store: StoreChoice, nats_server: EmbeddedNats
) -> None:
    intake = Intake(store.env("intake"))
    report(intake, 300)
    nc = await connect(nats_server.url, "test")
    await ensure_streams(nc.jetstream(), store.settings())
    topics = [get_topic(cls) for cls in PUBLISHED]

    class KilledMidway(OutboxRelay):
        sent = 0

        async def _send_batch(self, position: int) -> Batch | None:
            batch = await super()._send_batch(position)
            KilledMidway.sent += 1
            if KilledMidway.sent == 5:
                nats_server.kill()  # this batch and the one before are in flight, unacked
            return batch

    relay = KilledMidway(
        intake, "intake", nc.jetstream(), to_contract, batch_size=10, topics=topics
    )
    task = asyncio.create_task(relay.run())
    try:
        await eventually(lambda: KilledMidway.sent >= 5)
        assert relay.status.published_position < intake.recorder.max_notification_id()
        nats_server.start()
        head = intake.recorder.max_notification_id()
        await eventually(lambda: relay.status.published_position == head, timeout=30)
    finally:
        task.cancel()
    reported = [
        n.id for n in intake.recorder.select_notifications(start=None, limit=1000, topics=topics)
    ]
    assert await stream_positions(nc.jetstream(), "INTAKE") == reported
    await nc.close()


def test_a_commit_after_the_relays_loop_has_closed_still_succeeds(store: StoreChoice) -> None:
    intake = Intake(store.env("intake"))

    async def start_relay() -> None:
        OutboxRelay(intake, "intake", None, to_contract)  # type: ignore[arg-type]

    asyncio.run(start_relay())  # the loop is closed when this returns
    assert report(intake, 1)
    assert intake.recorder.max_notification_id()


async def test_an_event_that_does_not_fit_its_contract_halts_the_relay_until_fixed(
    store: StoreChoice,
    js,  # type: ignore[no-untyped-def]
) -> None:
    """It cannot be skipped (the stream would have a hole): nothing after it is published, the
    reason names the field but never its value, and a corrected mapping carries on."""
    from shared.contracts.intake import IncidentReportedV1

    intake = Intake(store.env("intake"))
    incidents = report(intake, 3)
    broken = incidents[1].id  # type: ignore[attr-defined]

    def mapping(event: object) -> object:
        contract = to_contract(event)
        if getattr(event, "originator_id", None) == broken:
            # As a release whose domain allowed a value its contract refuses.
            IncidentReportedV1.model_validate({**contract.model_dump(), "school": "Oak secret"})  # type: ignore[union-attr]
        return contract

    relay = OutboxRelay(intake, "intake", js, mapping, halted_recheck_seconds=0.1)  # type: ignore[arg-type]
    task = asyncio.create_task(relay.run())
    try:
        await eventually(lambda: relay.status.halted)
        assert "school (string_pattern_mismatch)" in relay.status.last_error
        assert "Oak secret" not in relay.status.last_error
        assert len(await stream_positions(js, "INTAKE")) == 1  # the one before it, only
        relay.to_contract = to_contract  # the corrected release
        await eventually(lambda: not relay.status.halted)
        await eventually(
            lambda: relay.status.published_position == intake.recorder.max_notification_id()
        )
    finally:
        task.cancel()
    assert len(await stream_positions(js, "INTAKE")) == 3


async def test_a_relay_resumed_with_nothing_waiting_publishes_what_is_recorded_next(
    store: StoreChoice,
    js,  # type: ignore[no-untyped-def]
) -> None:
    """The bug a clean restart hit: the first relay noted its position, the next one, finding
    nothing to publish, noted the same position again, the store refused it, and the relay's
    task ended, so nothing recorded after the restart was ever published."""
    topics = [get_topic(cls) for cls in PUBLISHED]
    intake = Intake(store.env("intake"))
    report(intake, 2)
    first = OutboxRelay(intake, "intake", js, to_contract, topics=topics)
    task = asyncio.create_task(first.run())
    head = intake.recorder.max_notification_id()
    await eventually(lambda: intake.recorder.max_tracking_id(RELAY_TRACKING_NAME) == head)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    intake.close()

    restarted_app = Intake(store.env("intake"))
    second = OutboxRelay(restarted_app, "intake", js, to_contract, topics=topics)
    task = asyncio.create_task(second.run())
    try:
        await eventually(lambda: second.status.published_position == head)
        await asyncio.sleep(0.05)  # lets the resumed relay note its position, where it failed
        report(restarted_app, 1)  # new work after the restart
        new_head = restarted_app.recorder.max_notification_id()
        await eventually(lambda: second.status.published_position == new_head or task.done())
        assert not task.done(), task.exception()
        await eventually(
            lambda: restarted_app.recorder.max_tracking_id(RELAY_TRACKING_NAME) == new_head
        )
    finally:
        task.cancel()
    reported = [
        n.id
        for n in restarted_app.recorder.select_notifications(start=None, limit=100, topics=topics)
    ]
    assert await stream_positions(js, "INTAKE") == reported
    assert len(reported) == 3
