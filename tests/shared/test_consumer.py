"""Exactly-once consumption against a real nats-server, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from nats.aio.msg import Msg

from services.referral.application import Referrals
from services.referral.domain import Referral
from services.referral.entrypoint import SPEC as REFERRAL
from shared.application import DeadLetter
from shared.bus import connect, ensure_streams
from shared.consumer import ExactlyOnceConsumer
from shared.contracts.intake import IncidentReportedV1
from shared.contracts.streams import (
    DEAD_LETTER_ERROR_HEADER,
    POSITION_HEADER,
    PREVIOUS_HEADER,
)
from shared.embedded_nats import EmbeddedNats
from shared.runtime import ServiceRuntime
from tests.conftest import StoreChoice
from tests.helpers import eventually, incident_reported

pytestmark = pytest.mark.nats


def incident() -> IncidentReportedV1:
    contract = incident_reported()
    assert isinstance(contract, IncidentReportedV1)
    return contract


async def publish_as_relay(
    js: object, position: int, previous: int, body: bytes, subject: str | None = None
) -> None:
    """What intake's relay would publish at ``position`` (``stream=`` too, as the relay does:
    the broker checks it by a header the message keeps)."""
    headers = {
        "Nats-Msg-Id": f"intake:{position}",
        POSITION_HEADER: str(position),
        PREVIOUS_HEADER: str(previous) if previous else "",
    }
    await js.publish(  # type: ignore[attr-defined]
        subject or IncidentReportedV1.subject, body, headers=headers, stream="INTAKE"
    )


def referrals_in(app: Referrals) -> list[Referral]:
    found = []
    for n in app.recorder.select_notifications(start=None, limit=1000):
        if n.topic.endswith("Referral.Opened"):
            aggregate = app.repository.get(n.originator_id)
            assert isinstance(aggregate, Referral)
            found.append(aggregate)
    return found


@pytest.fixture
async def referral(store: StoreChoice, nats_server: EmbeddedNats):  # type: ignore[no-untyped-def]
    settings = store.settings(nats_url=nats_server.url, consumer_max_attempts=3)
    runtime = ServiceRuntime(REFERRAL, settings)
    nc = await connect(nats_server.url, "test")
    js = nc.jetstream()
    await ensure_streams(js, settings)
    await runtime.start()
    yield runtime, js
    await runtime.stop()
    await nc.close()


async def test_applies_each_message_once_and_in_order(referral) -> None:  # type: ignore[no-untyped-def]
    runtime, js = referral
    contracts = [incident() for _ in range(3)]
    for i, contract in enumerate(contracts):
        await publish_as_relay(js, (i + 1) * 2, i * 2, contract.model_dump_json().encode())
    consumer: ExactlyOnceConsumer = runtime.consumers[0]
    await eventually(lambda: consumer.status.applied == 3)
    assert runtime.app.recorder.max_tracking_id("intake") == 6
    assert [r.id for r in referrals_in(runtime.app)] == [c.case_id for c in contracts]
    # The same message again (a re-publish outside the dedupe window, say): no effect.
    await js.publish(
        IncidentReportedV1.subject,
        contracts[0].model_dump_json().encode(),
        headers={POSITION_HEADER: "2", PREVIOUS_HEADER: ""},
    )
    await eventually(lambda: consumer.status.duplicates == 1)
    assert len(referrals_in(runtime.app)) == 3


async def test_killed_after_commit_before_ack_the_redelivery_changes_nothing(
    referral,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    runtime, js = referral
    consumer: ExactlyOnceConsumer = runtime.consumers[0]
    acks: list[int] = []
    real_ack = Msg.ack

    async def ack_dies_the_first_time(msg: Msg) -> None:
        acks.append(msg.metadata.num_delivered or 0)
        if len(acks) == 1:
            raise ConnectionError("process died between commit and ack")
        await real_ack(msg)

    monkeypatch.setattr(Msg, "ack", ack_dies_the_first_time)
    contract = incident()
    await publish_as_relay(js, 1, 0, contract.model_dump_json().encode())
    # ack_wait is 1 s in the tests: the broker redelivers the unacked message.
    await eventually(lambda: consumer.status.duplicates == 1, timeout=15)
    assert acks == [1, 2]
    assert len(referrals_in(runtime.app)) == 1
    events = list(runtime.app.repository.event_store.get(contract.case_id))
    assert [type(e).__name__ for e in events] == ["Opened", "AssessmentRecorded"]
    assert runtime.app.recorder.max_tracking_id("intake") == 1


async def test_a_message_that_keeps_failing_is_dead_lettered_and_the_stream_goes_on(
    referral,
    store: StoreChoice,  # type: ignore[no-untyped-def]
) -> None:
    runtime, js = referral
    consumer: ExactlyOnceConsumer = runtime.consumers[0]
    await publish_as_relay(js, 1, 0, b'{"not": "an incident"}')
    good = incident()
    await publish_as_relay(js, 2, 1, good.model_dump_json().encode())
    await eventually(lambda: consumer.status.applied == 1, timeout=15)
    assert consumer.status.dead_letters == 1
    assert consumer.status.failures == 3  # consumer_max_attempts
    letter = runtime.app.repository.get(DeadLetter.create_id("intake", 1))
    assert isinstance(letter, DeadLetter)
    assert letter.attempts == 3
    assert "ValidationError" in letter.error
    assert [r.id for r in referrals_in(runtime.app)] == [good.case_id]
    dead = await js.get_last_msg("DEADLETTER", "deadletter.>")
    assert dead.data == b'{"not": "an incident"}'
    assert "ValidationError" in (dead.headers or {})[DEAD_LETTER_ERROR_HEADER]
    _ready, report = runtime.readiness()
    assert report["upstreams"]["intake"]["dead_letters"] == 1
    assert report["store"]["dead_letters"] == [f"intake:1 {IncidentReportedV1.subject}"]
    restarted = Referrals(store.env("referral"))  # what a restart would read back
    assert [(d.upstream, d.position) for d in restarted.dead_letters()] == [("intake", 1)]


async def test_a_message_whose_predecessor_is_missing_is_held_and_reported(
    referral,  # type: ignore[no-untyped-def]
) -> None:
    # The relay cannot publish this (the broker checks Nats-Expected-Last-Msg-Id), but a
    # message that reaches the stream some other way must not be applied over the gap.
    runtime, js = referral
    consumer: ExactlyOnceConsumer = runtime.consumers[0]
    await publish_as_relay(js, 4, 2, incident().model_dump_json().encode())
    await eventually(lambda: "follows 2" in consumer.status.last_error)
    assert consumer.status.applied == 0
    assert runtime.app.recorder.max_tracking_id("intake") is None
    assert referrals_in(runtime.app) == []


async def test_a_message_without_position_headers_is_dead_lettered_without_a_position(
    referral,  # type: ignore[no-untyped-def]
) -> None:
    runtime, js = referral
    consumer: ExactlyOnceConsumer = runtime.consumers[0]
    await js.publish(IncidentReportedV1.subject, incident().model_dump_json().encode())
    await eventually(lambda: consumer.status.dead_letters == 1, timeout=15)
    assert runtime.app.recorder.max_tracking_id("intake") is None
    good = incident()
    await publish_as_relay(js, 1, 0, good.model_dump_json().encode())
    await eventually(lambda: consumer.status.applied == 1)


def test_a_collision_with_a_write_over_http_is_applied_again_not_counted_as_a_failure(
    store: StoreChoice, monkeypatch: pytest.MonkeyPatch
) -> None:
    from eventsourcing.persistence import IntegrityError

    from services.referral.application import Referrals
    from shared.store import application_env

    app = Referrals(application_env(store.settings(), "referral"))
    consumer = ExactlyOnceConsumer(app, "referral", "intake")
    real = app.apply_upstream
    collisions = 0

    def collides_twice(*args: object) -> None:
        nonlocal collisions
        if collisions < 2:
            collisions += 1
            msg = "the case's next version was taken by a write over HTTP"
            raise IntegrityError(msg)
        real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(app, "apply_upstream", collides_twice)
    outcome = consumer.apply(
        IncidentReportedV1.subject, incident().model_dump_json().encode(), 1, 0
    )
    assert outcome.value == "applied"
    assert collisions == 2
    assert app.recorder.max_tracking_id("intake") == 1
    app.close()
