"""Referral sends its own notices: an email reaches a real SMTP server, a signed webhook reaches
a real HTTP server through failures and retries, a crash between sending and recording is sent
again with the same key, a recipient that never answers is given up, and nothing else stops."""

from __future__ import annotations

import asyncio
import email
import hashlib
import hmac
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from aiosmtpd.controller import Controller
from eventsourcing.persistence import Tracking
from fastapi.testclient import TestClient

from services.referral.adapters.delivery import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    Sender,
    SmtpSender,
    WebhookSender,
)
from services.referral.application import Referrals
from services.referral.domain import ActionCompleted
from services.referral.domain.notices import LOST, Notice, RetryPolicy
from services.referral.entrypoint import SPEC, router
from services.referral.entrypoint.followups import BACKGROUND, FollowUps
from services.referral.policy import UnknownPolicyVersionError
from shared.contracts.intake import TriageRecordedV1, YoungPersonRecordedV1
from shared.runtime import ServiceRuntime, create_http_app
from shared.trust import Trust, TrustFileError, load_trust
from tests.conftest import StoreChoice
from tests.helpers import incident_reported

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
GOLDEN = Path(__file__).parent.parent / "contracts" / "golden"
TRIAGE = json.loads((GOLDEN / "intake.triage.recorded.v1.json").read_text())
PERSON = json.loads((GOLDEN / "intake.young_person.recorded.v1.json").read_text())
CLEAR = {
    "adult_involvement": "no",
    "coercion_blackmail_or_grooming": "no",
    "capacity_to_consent_concerns": "no",
    "acts_unusual_or_violent": "no",
    "pictured_under_13": "no",
    "immediate_risk_of_harm": "no",
    "financially_motivated_extortion": "no",
    "image_locations": [{"kind": "device", "name": "Invented phone"}],
    "how_widely_shared": "one_recipient",
}
SUMMARY = "Invented: a forwarded image, told in the student's own words"
SECRET = "invented-webhook-secret-0123456789"
SECRET_SETTING = "SAFEGUARD_TEST_WEBHOOK_SECRET"
CASE_URL = "https://safeguard.example.invalid"
RETRY = RetryPolicy(
    max_attempts=3,
    first_backoff=timedelta(minutes=1),
    max_backoff=timedelta(minutes=10),
    lease=timedelta(seconds=30),
)


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def email_recipient(**changes: Any) -> dict[str, Any]:
    return {
        "name": "trust-lead",
        "channel": "email",
        "address": "lead@trust.example.invalid",
        "actions": ["police"],
        **changes,
    }


def webhook_recipient(url: str, **changes: Any) -> dict[str, Any]:
    return {
        "name": "front-door",
        "channel": "webhook",
        "url": url,
        "secret_setting": SECRET_SETTING,
        "actions": ["police"],
        **changes,
    }


def trust_with(*recipients: dict[str, Any]) -> Trust:
    """The demo trust, with these recipients and its links to the invented deployment."""
    demo = load_trust().model_dump(mode="json", exclude={"recipients"})
    return Trust.model_validate({**demo, "case_url": CASE_URL, "recipients": list(recipients)})


def referrals(env: dict[str, str] | None, trust: Trust, clock: Clock) -> Referrals:
    return Referrals(env, clock=clock, trust=trust)


def feed(app: Referrals, contract: object) -> None:
    """Apply an intake contract at intake's next position, as the consumer would."""
    position = (app.recorder.max_tracking_id("intake") or 0) + 1
    app.process_event(contract, Tracking("intake", position))  # type: ignore[arg-type]


def triage(app: Referrals, case_id: UUID, number: int, **answers: Any) -> None:
    feed(
        app,
        TriageRecordedV1.model_validate(
            {**TRIAGE, **CLEAR, "case_id": case_id, "entry_number": number, **answers}
        ),
    )


def open_case(app: Referrals, school: str = "OAK", **answers: Any) -> UUID:
    """A disclosure with a young person by pseudonym, and a triage with ``answers``."""
    disclosure: Any = incident_reported(
        school=school, reference=f"{school}-2026-0042", summary=SUMMARY
    )
    feed(app, disclosure)
    feed(app, YoungPersonRecordedV1.model_validate({**PERSON, "case_id": disclosure.case_id}))
    triage(app, disclosure.case_id, 1, **answers)
    return UUID(str(disclosure.case_id))


def event_names(app: Referrals, notice_id: UUID) -> list[str]:
    return [type(e).__name__ for e in app.events.get(notice_id)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# --- a real SMTP server ------------------------------------------------------------------


class Inbox:
    """An aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.raw: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.raw.append(envelope.content)
        message = email.message_from_bytes(envelope.content, policy=default_policy)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield inbox, controller.port
    controller.stop()


# --- a real HTTP server that checks signatures and dedupes by key -----------------------


class Receiver:
    """Another system's webhook endpoint: refuses a bad signature, fails the first
    ``failures`` requests, keeps one delivery per Idempotency-Key, and may hold a request
    until released (to let the test kill the sender mid-request)."""

    def __init__(self, failures: int = 0, hold: bool = False) -> None:
        self.failures = failures
        self.hold = hold
        self.requests: list[tuple[str, bytes, bool]] = []
        self.deliveries: dict[str, bytes] = {}
        self.received = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = receiver.receive(dict(self.headers.items()), body)
                if receiver.hold and not receiver.release.is_set():
                    receiver.received.set()
                    receiver.release.wait(30)
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # A request whose sender was killed cannot be answered: that is the point.
        self.server.handle_error = lambda *args: None  # type: ignore[method-assign]
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/notices"

    def receive(self, headers: dict[str, str], body: bytes) -> int:
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        signed = hmac.compare_digest(headers.get(SIGNATURE_HEADER, ""), expected)
        with self.lock:
            key = headers.get(IDEMPOTENCY_HEADER, "")
            self.requests.append((key, body, signed))
            if not signed:
                return 401
            if len(self.requests) <= self.failures:
                return 500
            self.deliveries.setdefault(key, body)  # a copy with a known key is dropped
            return 200

    def __enter__(self) -> Receiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def webhook_sender(client: httpx.AsyncClient, timeout: float = 5.0) -> WebhookSender:
    return WebhookSender(client, secrets={SECRET_SETTING: SECRET}, timeout=timeout)


async def run_once(app: Referrals, senders: dict[str, Sender]) -> None:
    await FollowUps(app, senders, RETRY).run_once()


@pytest.mark.parametrize("turns", range(6))
async def test_follow_ups_stop_when_stopped_as_a_commit_wakes_them(turns: int) -> None:
    # The service stops its background work by cancelling it. A commit's wakeup arriving in
    # the same turns of the loop once made the cancellation vanish (Python 3.11's wait_for),
    # and stopping the service hung.
    app = referrals(None, trust_with(), Clock())
    task = asyncio.create_task(FollowUps(app, {}, RETRY, poll_seconds=60).run())
    await asyncio.sleep(0.3)  # its first pass done, it waits for a wakeup
    for listener in app._listeners:
        listener()  # as after a commit
    for _ in range(turns):
        await asyncio.sleep(0)
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=5)
    assert task in done, "still running 5 s after it was stopped"
    assert task.cancelled()


# --- email -------------------------------------------------------------------------------


async def test_an_email_notice_reaches_a_real_smtp_server_without_any_pseudonym(
    store: StoreChoice, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    app = referrals(store.env("referral"), trust_with(email_recipient()), Clock())
    case_id = open_case(app, adult_involvement="yes")
    (notice,) = app.notices_of(case_id)
    sender = SmtpSender("127.0.0.1", port, "safeguard@trust.example.invalid", timeout=5)

    await run_once(app, {"email": sender})

    (message,) = inbox.messages
    assert message["From"] == "safeguard@trust.example.invalid"
    assert message["To"] == "lead@trust.example.invalid"
    assert message["Message-ID"] == f"<{notice.id}@trust.example.invalid>"
    assert message["Subject"] == "[immediate] police required: case OAK-2026-0042 (OAK)"
    body = message.get_content()
    assert "Case OAK-2026-0042 at Oakfield Academy (demo) (OAK)." in body
    assert "Why: possible adult involvement is always referred to the police." in body
    assert f"Open the case: {CASE_URL}/cases/{case_id}" in body
    assert "due by 2026-11-24T11:00:00+00:00" in body
    # Never the young person's pseudonym, nor the case's own words.
    assert PERSON["pseudonym"] not in inbox.raw[0].decode()
    assert "Invented:" not in inbox.raw[0].decode()
    assert event_names(app, notice.id) == ["Created", "AttemptStarted", "Delivered"]
    assert app.get_notice(notice.id).settled
    await run_once(app, {"email": sender})
    assert len(inbox.messages) == 1, "a delivered notice is not sent again"


async def test_no_smtp_server_is_a_failure_retried_then_given_up(
    smtp: tuple[Inbox, int],
) -> None:
    """A bare machine: nothing listens where the email should go."""
    clock = Clock()
    app = referrals(None, trust_with(email_recipient()), clock)
    case_id = open_case(app, adult_involvement="yes")
    sender = SmtpSender("127.0.0.1", free_port(), "safeguard@trust.example.invalid", timeout=1)
    for _ in range(RETRY.max_attempts):
        await run_once(app, {"email": sender})
        clock.now += RETRY.max_backoff
    (notice,) = app.notices_of(case_id)
    assert event_names(app, notice.id) == [
        "Created",
        *["AttemptStarted", "Failed"] * 3,
        "GaveUp",
    ]
    assert "ConnectionRefusedError" in notice.last_error
    assert app.notices_due(clock.now + timedelta(days=1)) == []


# --- webhooks ----------------------------------------------------------------------------


async def test_a_webhook_failing_twice_is_delivered_on_the_third_attempt_with_one_key() -> None:
    clock = Clock()
    with Receiver(failures=2) as receiver:
        app = referrals(None, trust_with(webhook_recipient(receiver.url)), clock)
        case_id = open_case(app, adult_involvement="yes")
        (notice,) = app.notices_of(case_id)
        async with httpx.AsyncClient() as client:
            senders: dict[str, Sender] = {"webhook": webhook_sender(client)}
            await run_once(app, senders)
            clock.now += timedelta(seconds=59)
            await run_once(app, senders)
            assert len(receiver.requests) == 1, "not before the first backoff (1 minute)"
            clock.now += timedelta(seconds=1)
            await run_once(app, senders)
            clock.now += timedelta(minutes=2)  # the backoff doubles
            await run_once(app, senders)

    assert [signed for _, _, signed in receiver.requests] == [True, True, True]
    assert {key for key, _, _ in receiver.requests} == {str(notice.id)}
    assert len({body for _, body, _ in receiver.requests}) == 1, "the same bytes each time"
    assert list(receiver.deliveries) == [str(notice.id)]
    document = json.loads(receiver.deliveries[str(notice.id)])
    assert document["case_reference"] == "OAK-2026-0042"
    assert document["link"] == f"{CASE_URL}/cases/{case_id}"
    assert (document["action"], document["urgency"]) == ("police", "immediate")
    assert PERSON["pseudonym"].encode() not in receiver.requests[0][1]
    assert event_names(app, notice.id) == [
        "Created",
        "AttemptStarted",
        "Failed",
        "AttemptStarted",
        "Failed",
        "AttemptStarted",
        "Delivered",
    ]
    failed = [e for e in app.events.get(notice.id) if isinstance(e, Notice.Failed)]
    assert [e.error for e in failed] == ["HTTP 500", "HTTP 500"]
    assert [e.next_attempt_at - e.failed_at for e in failed] == [
        timedelta(minutes=1),
        timedelta(minutes=2),
    ]


async def test_a_recipient_that_never_answers_is_given_up_and_nothing_else_stops(
    smtp: tuple[Inbox, int],
) -> None:
    inbox, port = smtp
    clock = Clock()
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/notices"
        trust = trust_with(webhook_recipient(url), email_recipient())
        app = referrals(None, trust, clock)
        case_id = open_case(app, adult_involvement="yes")
        async with httpx.AsyncClient() as client:
            senders: dict[str, Sender] = {
                "webhook": webhook_sender(client, timeout=0.2),
                "email": SmtpSender("127.0.0.1", port, "safeguard@trust.example.invalid"),
            }
            for _ in range(RETRY.max_attempts + 1):
                await run_once(app, senders)
                clock.now += RETRY.max_backoff

    notices = {n.recipient: n for n in app.notices_of(case_id)}
    assert event_names(app, notices["front-door"].id)[-3:] == [
        "AttemptStarted",
        "Failed",
        "GaveUp",
    ]
    assert notices["front-door"].attempts == RETRY.max_attempts
    assert "Timeout" in notices["front-door"].last_error
    assert notices["trust-lead"].delivered_at is not None
    assert len(inbox.messages) == 1
    assert app.health()["notices_given_up"] == 1  # on /readyz, for a person to act on
    # The case goes on: a decision is recorded, and the notices are settled.
    app.record_entry(
        case_id,
        ActionCompleted,
        details={"action": "police", "how": "phone", "whom": "Invented", "their_reference": "X"},
        recorded_by="dsl.oak",
        recorded_by_role="dsl",
    )
    assert app.get_referral(case_id).actions["police"].status == "done"
    assert app.notices_due(clock.now + timedelta(days=30)) == []


def test_a_crash_between_sending_and_recording_is_sent_again_with_the_same_key(
    store: StoreChoice,
) -> None:
    """The worker runs in a process of its own, which is killed while the receiver holds its
    request: the notice was sent, and its outcome never recorded. A fresh application on the
    same store presumes the attempt lost once its lease is out, and sends it again with the
    same key: the receiver keeps one delivery."""
    env = store.env("referral")
    with Receiver(hold=True) as receiver:
        trust = trust_with(webhook_recipient(receiver.url))
        app = referrals(env, trust, Clock())
        case_id = open_case(app, adult_involvement="yes")
        (notice,) = app.notices_of(case_id)
        app.close()
        child = subprocess.Popen(
            [
                sys.executable,
                "-c",
                CHILD,
                json.dumps(env),
                trust.model_dump_json(),
                NOW.isoformat(),
            ],
            cwd=Path(__file__).parents[2],
        )
        try:
            assert receiver.received.wait(60), "the worker process never sent the notice"
            child.kill()
            child.wait(10)
        finally:
            child.kill()
        receiver.release.set()

        clock = Clock(NOW + RETRY.lease + RETRY.backoff(1))
        restarted = referrals(env, trust, clock)
        assert event_names(restarted, notice.id) == ["Created", "AttemptStarted"]

        async def retry() -> None:
            async with httpx.AsyncClient() as client:
                await run_once(restarted, {"webhook": webhook_sender(client)})

        asyncio.run(retry())

    assert [key for key, _, _ in receiver.requests] == [str(notice.id)] * 2
    assert list(receiver.deliveries) == [str(notice.id)], "the receiver kept one delivery"
    assert event_names(restarted, notice.id) == [
        "Created",
        "AttemptStarted",
        "Failed",
        "AttemptStarted",
        "Delivered",
    ]
    lost = next(e for e in restarted.events.get(notice.id) if isinstance(e, Notice.Failed))
    assert lost.error == LOST
    restarted.close()


CHILD = """
import asyncio, json, sys
from datetime import datetime
import httpx
from shared.trust import Trust
from tests.referral.test_delivery import Clock, FollowUps, RETRY, referrals, webhook_sender

env, trust, now = json.loads(sys.argv[1]), Trust.model_validate_json(sys.argv[2]), sys.argv[3]
app = referrals(env, trust, Clock(datetime.fromisoformat(now)))

async def main() -> None:
    async with httpx.AsyncClient() as client:
        await FollowUps(app, {"webhook": webhook_sender(client, timeout=60)}, RETRY).run_once()

asyncio.run(main())
"""


# --- which notices are made ----------------------------------------------------------------


def test_a_notice_is_made_once_per_assessment_that_newly_requires_the_action() -> None:
    app = referrals(None, trust_with(email_recipient()), Clock())
    case_id = open_case(app, adult_involvement="yes")
    assert len(app.notices_of(case_id)) == 1
    triage(app, case_id, 2, adult_involvement="yes", correction_reason="Invented")
    assert len(app.notices_of(case_id)) == 1, "a reassessment requiring it again adds none"
    triage(app, case_id, 3, correction_reason="Invented: no adult after all")
    assert app.get_referral(case_id).actions["police"].level == "dsl_decides"
    assert len(app.notices_of(case_id)) == 1, "the recipient wants required referrals only"
    triage(app, case_id, 4, adult_involvement="suspected", correction_reason="Invented")
    causes = [n.cause for n in app.notices_of(case_id)]
    assert causes == ["assessment:3", "assessment:6"]


def test_recipients_get_only_their_actions_schools_and_levels() -> None:
    trust = trust_with(
        email_recipient(),
        email_recipient(name="elm-only", schools=["ELM"]),
        email_recipient(name="csc", actions=["childrens_social_care", "police"]),
        email_recipient(name="off", enabled=False),
    )
    app = referrals(None, trust, Clock())
    case_id = open_case(app, adult_involvement="yes")
    made = sorted((n.recipient, n.action) for n in app.notices_of(case_id))
    assert made == [("csc", "childrens_social_care"), ("csc", "police"), ("trust-lead", "police")]


def test_the_runtime_starts_delivery_and_wires_the_trust_policy_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_SETTING, SECRET)
    with Receiver() as receiver:
        trust = trust_with(webhook_recipient(receiver.url)).model_dump(mode="json")
        trust_file = tmp_path / "trust.toml"
        trust_file.write_text(toml(trust))
        settings = StoreChoice("sqlite", tmp_path).settings(
            trust_file=trust_file, followup_poll_seconds=0.05
        )
        spec = replace(SPEC, background=BACKGROUND)
        with TestClient(create_http_app(spec, settings, router)) as client:
            runtime: ServiceRuntime = client.app.state.runtime  # type: ignore[attr-defined]
            assert isinstance(runtime.app, Referrals)
            case_id = open_case(runtime.app, adult_involvement="yes")
            (notice,) = runtime.app.notices_of(case_id)
            deadline = time.monotonic() + 20
            while not runtime.app.get_notice(notice.id).settled and time.monotonic() < deadline:
                time.sleep(0.02)
            assert event_names(runtime.app, notice.id) == ["Created", "AttemptStarted", "Delivered"]
            assert client.get("/healthz").status_code == 200
        assert list(receiver.deliveries) == [str(notice.id)]


def toml(document: dict[str, Any]) -> str:
    """Enough TOML for a trust document: scalars, lists of scalars, arrays of tables."""

    def value(v: Any) -> str:
        return json.dumps(v)

    lines = [f"{k} = {value(v)}" for k, v in document.items() if not isinstance(v, list | dict)]
    for key in ("schools", "recipients"):
        for table in document.get(key, []):
            lines.append(f"[[{key}]]")
            lines += [f"{k} = {value(v)}" for k, v in table.items() if v is not None]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(("version", "ok"), [("uk-2024.1", True), ("uk-1999.9", False)])
def test_the_referral_application_assesses_under_the_trust_policy_version(
    tmp_path: Path, version: str, ok: bool
) -> None:
    trust = {**load_trust().model_dump(mode="json"), "policy_version": version}
    trust_file = tmp_path / "trust.toml"
    trust_file.write_text(toml(trust))
    settings = StoreChoice("sqlite", tmp_path).settings(trust_file=trust_file)
    if not ok:
        with pytest.raises(UnknownPolicyVersionError, match=r"uk-1999\.9 .* not in this build"):
            ServiceRuntime(SPEC, settings)
        return
    runtime = ServiceRuntime(SPEC, settings)
    try:
        assert isinstance(runtime.app, Referrals)
        case_id = open_case(runtime.app)
        latest = runtime.app.get_referral(case_id).assessment
        assert latest is not None
        assert latest.policy_version == version
    finally:
        runtime.app.close()


# --- the trust's recipients, validated ---------------------------------------------------


def test_the_demo_trust_lists_invented_recipients_disabled() -> None:
    trust = load_trust()
    assert trust.policy_version == "uk-2024.3"
    assert trust.recipients
    assert not any(r.enabled for r in trust.recipients)
    assert all("example.invalid" in r.destination for r in trust.recipients)


@pytest.mark.parametrize(
    ("recipient", "problem"),
    [
        (webhook_recipient("https://x.example.invalid", secret=SECRET), "secret_setting"),
        (webhook_recipient("https://x.example.invalid", secret_setting=""), "secret_setting"),
        (email_recipient(url="https://x.example.invalid"), "an email recipient has an address"),
        (email_recipient(address="not an address"), "not an email address"),
        (email_recipient(actions=["tell_everyone"]), "police"),
        (email_recipient(actions=[]), "at least 1"),
        (email_recipient(schools=["PINE"]), "no school PINE"),
        (email_recipient(channel="pigeon"), "'email' or 'webhook'"),
    ],
)
def test_a_bad_recipient_is_refused_naming_the_problem(
    tmp_path: Path, recipient: dict[str, Any], problem: str
) -> None:
    trust = {**load_trust().model_dump(mode="json"), "recipients": [recipient]}
    path = tmp_path / "trust.toml"
    path.write_text(toml(trust))
    with pytest.raises(TrustFileError, match=problem) as refused:
        load_trust(path)
    assert str(path) in str(refused.value)
    assert SECRET not in str(refused.value)
