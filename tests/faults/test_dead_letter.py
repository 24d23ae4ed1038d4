"""Fault 7: a message on intake's stream that referral and review can never apply.

The test stands in for intake's relay: it publishes to the INTAKE stream exactly as the relay
does (``Nats-Msg-Id``, the positions, ``Nats-Expected-Last-Msg-Id``), good disclosures with one
between them whose disclosure route this release's contract does not know (as if intake were a
release ahead). Referral and review run as processes; intake does not, or its relay would find
a stream its store never wrote.

Each consumer tries the message ``SAFEGUARD_CONSUMER_MAX_ATTEMPTS`` times, sets it aside as a
dead letter (copied to the DEADLETTER stream, recorded in its own store with the case id) and
goes on: the disclosures after it and new work reach referral and review exactly once, in order.
The case is named on /readyz under ``attention`` and by ``safeguard status``, and still is after
a restart: the record is the store's. On SQLite and PostgreSQL, the two stores it is kept in.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from nats.js import JetStreamContext

from ops.demo import DEMO_RISK, DEMO_TRIAGE
from shared.bus import connect
from shared.contracts import Contract
from shared.contracts.intake import IncidentReportedV1, TriageRecordedV2
from shared.contracts.streams import POSITION_HEADER, PREVIOUS_HEADER, message_id
from shared.embedded_nats import EmbeddedNats
from tests.conftest import StoreChoice
from tests.faults.deployment import Deployment, fault_settings, running

pytestmark = [pytest.mark.e2e, pytest.mark.faults]

ATTEMPTS = 3
BACKOFF_SECONDS = 1.0
"""The message is tried at once, then after 1 s and 2 s: 3 s without the stream moving, longer
than ``SAFEGUARD_STALL_SECONDS``."""
STALL_SECONDS = 1.0
REFUSED_ROUTE = "helpline"
"""A disclosure route this release's contract does not know."""


class IntakeStream:
    """Publishes to the INTAKE stream as intake's relay would, one position after another."""

    def __init__(self, nats_url: str) -> None:
        self.nats_url = nats_url
        self.position = 0
        self.references: dict[str, str] = {}
        """Each case's human reference, by case id."""

    def publish(self, *messages: tuple[str, bytes]) -> list[int]:
        """Each ``(subject, body)`` at the next position; the positions."""

        async def run() -> list[int]:
            nc = await connect(self.nats_url, "faults-intake-stand-in")
            try:
                return [await self._publish(nc.jetstream(), *m) for m in messages]
            finally:
                await nc.close()

        return asyncio.run(run())

    async def _publish(self, js: JetStreamContext, subject: str, body: bytes) -> int:
        previous, self.position = self.position, self.position + 1
        headers = {
            "Nats-Msg-Id": message_id("intake", self.position),
            POSITION_HEADER: str(self.position),
            PREVIOUS_HEADER: str(previous) if previous else "",
        }
        if previous:
            # The broker refuses the message unless the one before it is the stream's last.
            headers["Nats-Expected-Last-Msg-Id"] = message_id("intake", previous)
        await js.publish(subject, body, headers=headers, stream="INTAKE")
        return self.position

    def disclosure(self, label: str, **fields: object) -> tuple[str, tuple[str, bytes]]:
        """An invented disclosure's case id and message; ``fields`` change its body."""
        case_id = str(uuid4())
        self.references[case_id] = f"OAK-2026-{9001 + len(self.references)}"
        now = datetime.now(UTC).isoformat()
        body = {
            "case_id": case_id,
            "school": "OAK",
            "reference": self.references[case_id],
            "disclosure_route": "peer",
            "summary": f"Invented disclosure {label}",
            "recorded_by": "staff.fault",
            "recorded_by_role": "staff",
            "occurred_at": now,
            "recorded_at": now,
            **fields,
        }
        return case_id, (IncidentReportedV1.subject, json.dumps(body).encode())

    def disclose(self, n: int, label: str) -> list[str]:
        """``n`` good disclosures; their case ids."""
        made = [self.disclosure(f"{label} number {i}") for i in range(n)]
        self.publish(*(message for _, message in made))
        return [case_id for case_id, _ in made]


def as_message(contract: Contract) -> tuple[str, bytes]:
    return contract.subject, contract.model_dump_json().encode()


def decide(deployment: Deployment, intake: IntakeStream, case_ids: list[str]) -> None:
    """The DSL's decisions on each case, as :meth:`Deployment.decide` makes them: the triage
    (published here, as intake would), then the risk assessment at referral."""
    now = datetime.now(UTC)
    for case_id in case_ids:
        triage = TriageRecordedV2.model_validate(
            {
                **DEMO_TRIAGE,
                "case_id": case_id,
                "school": "OAK",
                "reference": intake.references[case_id],
                "entry_number": 1,
                "recorded_by": "dsl.fault",
                "recorded_by_role": "dsl",
                "occurred_at": now,
                "recorded_at": now,
            }
        )
        intake.publish(as_message(triage))
        deployment.post(
            "referral",
            f"/cases/{case_id}/risk-assessments",
            DEMO_RISK,
            f"r-{case_id}",
            deployment.dsl,
        )
        deployment.decided.add(case_id)


@pytest.fixture
def deployment(
    store: StoreChoice, nats_server: EmbeddedNats, tmp_path: Path
) -> Iterator[Deployment]:
    """Referral and review, started, trying each message a few times, a second apart."""
    extra_env = {
        "SAFEGUARD_CONSUMER_MAX_ATTEMPTS": str(ATTEMPTS),
        "SAFEGUARD_CONSUMER_BACKOFF_SECONDS": str(BACKOFF_SECONDS),
        "SAFEGUARD_STALL_SECONDS": str(STALL_SECONDS),
    }
    settings = fault_settings(store, nats_server.url)
    with running(settings, tmp_path, extra_env, "referral", "review") as started:
        yield started


def test_a_message_that_always_fails_is_set_aside_its_case_flagged_and_the_rest_flows(
    deployment: Deployment,
) -> None:
    deployment.wait_ready("referral", "review")
    intake = IntakeStream(deployment.settings.nats_url)
    before = intake.disclose(2, "before")
    deployment.wait_flowed(before, timeout=30)
    readiness = deployment.watch()

    # A disclosure route this release's contract does not know, with a valid case id.
    refused_case, refused = intake.disclosure(
        "by a route not yet known", disclosure_route=REFUSED_ROUTE
    )
    after_ids = [intake.disclosure(f"after number {i}") for i in range(2)]
    (refused_at, *_) = intake.publish(refused, *(message for _, message in after_ids))
    after = [case_id for case_id, _ in after_ids]

    # While the message is tried again nothing behind it moves, for any case: not ready, and
    # the reason names the consumer and the refusal.
    for name in ("referral", "review"):
        stalled = deployment.not_ready(name, naming="consumer from intake has not moved")
        assert any("ValidationError" in p for p in stalled["problems"]), stalled["problems"]

    deployment.wait_flowed(after, timeout=30)
    deployment.wait_ready("referral", "review", timeout=10)
    new = intake.disclose(2, "new")
    decide(deployment, intake, [*after, *new])
    deployment.wait_flowed([*before, *after, *new], timeout=30)
    deployment.unwatch()
    for name in ("referral", "review"):
        assert readiness.statuses(name) == {200, 503}, name
        assert readiness.seen[name][-1][1] == 200, name

    why = (
        f"{IncidentReportedV1.subject} from intake (position {refused_at}) was set aside "
        f"after {ATTEMPTS} attempts: ValidationError"
    )
    for name in ("referral", "review"):
        report = deployment.readyz(name)
        assert report["problems"] == [], (name, report["problems"])
        assert [a["case_id"] for a in report["attention"]] == [refused_case], name
        assert report["attention"][0]["why"].startswith(why), report["attention"]
        assert "disclosure_route" in report["attention"][0]["why"]
        # The refused value is not repeated where it is shown: it may be personal data.
        assert REFUSED_ROUTE not in json.dumps(report), name
        assert REFUSED_ROUTE not in (deployment.log_dir / f"{name}.log").read_text(), name
        assert report["upstreams"]["intake"]["dead_letters"] == 1

    # Nothing of the refused message was half applied: neither service has its case.
    for name, path in (("referral", "assessments"), ("review", "chronology")):
        r = deployment.http.get(
            f"{deployment.url(name)}/cases/{refused_case}/{path}", headers=deployment.dsl
        )
        assert r.status_code == 404, (name, r.status_code)

    # Both consumers copied it to the dead-letter stream, with why.
    async def dead_letters(js: JetStreamContext) -> dict[str, Any]:
        found = {}
        for consumer in ("referral", "review"):
            msg = await js.get_last_msg("DEADLETTER", f"deadletter.{consumer}.>")
            found[msg.subject] = (json.loads(msg.data)["case_id"], (msg.headers or {}))
        return found

    async def ask() -> dict[str, Any]:
        nc = await connect(deployment.settings.nats_url, "faults-test")
        try:
            return await dead_letters(nc.jetstream())
        finally:
            await nc.close()

    copied = asyncio.run(ask())
    assert sorted(copied) == [
        f"deadletter.{c}.{IncidentReportedV1.subject}" for c in ("referral", "review")
    ]
    for case_id, headers in copied.values():
        assert case_id == refused_case
        assert headers["Safeguard-Position"] == str(refused_at)
        assert "ValidationError" in headers["Safeguard-Error"]
        assert REFUSED_ROUTE not in headers["Safeguard-Error"]

    # The record is each service's store's: after a restart the case is still flagged, once,
    # and the message is not tried again.
    assert deployment.stop_cleanly("referral", "review") == {"referral": 0, "review": 0}
    deployment.start("referral", "review")
    deployment.wait_ready("referral", "review")
    for name in ("referral", "review"):
        report = deployment.readyz(name)
        assert [a["case_id"] for a in report["attention"]] == [refused_case], name
        assert report["upstreams"]["intake"]["failures"] == 0, name

    # safeguard status names the case for each service. A dead letter does not make a service
    # not ready (its stream goes on; the case waits for a person, and a status that failed
    # would have a monitor restart services that are well), so status exits 0 once all three
    # answer ready. Intake is started now only so that it answers: with NATS_URL empty,
    # `safeguard serve` runs it on a nats-server of its own, away from the stream the test wrote.
    deployment.extra_env["NATS_URL"] = ""
    deployment.start("intake")
    deployment.wait_ready()
    status = deployment.status()
    assert status.returncode == 0, status.stdout + status.stderr
    flagged = [line for line in status.stdout.splitlines() if f"case {refused_case}" in line]
    assert [line.split(":")[0].strip() for line in flagged] == ["referral", "review"], status.stdout
    assert "All three services are ready." in status.stdout
    assert REFUSED_ROUTE not in status.stdout
