"""The per-school intake client: a disclosure is queued durably before it is sent, is recorded
exactly once whatever fails in between, and is never lost or silently dropped."""

from __future__ import annotations

import fcntl
import json
import re
import stat
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from ops.cli import app as cli
from ops.intake_client import (
    IntakeClient,
    InvalidDisclosureError,
    Outcome,
    QueueEntry,
)
from ops.intake_client import cli as client_cli
from services.intake.entrypoint import create_app
from shared.embedded_nats import EmbeddedNats, free_port
from shared.identity import Role
from tests.conftest import StoreChoice
from tests.e2e.conftest import Services

SUMMARY = "Invented: a pupil said a photo was passed round a group chat"
BASE = "http://testserver"
RECORD = ["intake", "record", "--school", "OAK", "--route", "peer", "--summary", SUMMARY]


@dataclass
class Intake:
    """The real intake app in-process, and a token of a member of staff at OAK."""

    http: TestClient
    token: str
    posts: list[str]  # the Idempotency-Key of every POST /cases that reached it

    def client(self, queue_dir: Path, token: str | None = None) -> IntakeClient:
        return IntakeClient(BASE, token or self.token, queue_dir, http=self.http)

    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def intake(tmp_path: Path) -> Iterator[Intake]:
    app = create_app(StoreChoice("sqlite", tmp_path).settings())
    with TestClient(app) as http:
        posts: list[str] = []

        def count(request: httpx.Request) -> None:
            if request.method == "POST":
                posts.append(request.headers.get("Idempotency-Key", ""))

        http.event_hooks["request"].append(count)
        yield Intake(http, app.state.tokens.issue("staff.oak", Role.STAFF, ["OAK"]), posts)


@pytest.fixture
def queue_dir(tmp_path: Path) -> Path:
    return tmp_path / "queue"


def answering(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(handler))


def unreachable(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def down(queue_dir: Path) -> IntakeClient:
    """A client whose intake cannot be reached."""
    return IntakeClient(BASE, "any-token", queue_dir, http=answering(unreachable))


def number(reference: str | None) -> int:
    assert reference is not None
    return int(reference.rsplit("-", 1)[1])


def test_a_disclosure_is_recorded_and_leaves_nothing_queued(
    intake: Intake, queue_dir: Path
) -> None:
    before = datetime.now(UTC)
    result = intake.client(queue_dir).record_disclosure("OAK", "peer", SUMMARY)
    assert result.outcome == Outcome.RECORDED
    assert result.status_code == 201
    assert result.case is not None
    assert result.reference == result.case.reference
    assert result.reference.startswith("OAK-")
    assert before <= result.case.occurred_at <= datetime.now(UTC)
    assert intake.posts == [result.key]
    assert list(queue_dir.glob("*.json")) == []
    case = intake.client(queue_dir).get_case(result.case.case_id)
    assert case == result.case


def test_a_queued_disclosure_is_one_whole_private_file(queue_dir: Path) -> None:
    result = down(queue_dir).record_disclosure("OAK", "young_person", SUMMARY)
    [path] = queue_dir.glob("*.json")
    assert result.key in path.name
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(queue_dir.stat().st_mode) == 0o700
    stored = json.loads(path.read_text())
    assert stored["key"] == result.key
    assert stored["disclosure"]["summary"] == SUMMARY
    assert datetime.fromisoformat(stored["disclosure"]["occurred_at"]).tzinfo is not None
    assert [p.name for p in queue_dir.iterdir() if p.name.endswith(".tmp")] == []


def _raise(error: type[httpx.TransportError]) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error("invented failure", request=request)

    return handler


def _status(code: int) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(code, json={"detail": "busy"}, headers={"Retry-After": "5"})

    return handler


@pytest.mark.parametrize(
    "handler",
    [
        _raise(httpx.ConnectError),
        _raise(httpx.ConnectTimeout),
        _raise(httpx.ReadTimeout),
        _raise(httpx.RemoteProtocolError),
        *(_status(code) for code in (502, 503, 504, 500, 408, 429)),
    ],
)
def test_an_unreachable_or_busy_intake_leaves_it_queued(
    queue_dir: Path, handler: Callable[[httpx.Request], httpx.Response]
) -> None:
    client = IntakeClient(BASE, "any-token", queue_dir, http=answering(handler))
    result = client.record_disclosure("OAK", "peer", SUMMARY)
    assert result.outcome == Outcome.QUEUED
    assert result.case is None
    assert [e.key for e in client.queued()] == [result.key]
    assert result.reason


def test_a_503_says_when_to_retry(queue_dir: Path) -> None:
    client = IntakeClient(BASE, "any-token", queue_dir, http=answering(_status(503)))
    result = client.record_disclosure("OAK", "peer", SUMMARY)
    assert (result.outcome, result.status_code) == (Outcome.QUEUED, 503)
    assert "retry after 5s" in result.reason


def test_flush_sends_the_queue_in_order_with_the_original_keys_and_times(
    intake: Intake, queue_dir: Path
) -> None:
    offline = down(queue_dir)
    queued = [offline.record_disclosure("OAK", "peer", f"Invented {i}") for i in range(3)]
    assert [r.outcome for r in queued] == [Outcome.QUEUED] * 3
    entries = {e.key: e for e in offline.queued()}
    assert list(entries) == [r.key for r in queued]

    results = intake.client(queue_dir).flush()

    assert [r.outcome for r in results] == [Outcome.RECORDED] * 3
    assert [r.key for r in results] == [r.key for r in queued] == intake.posts
    numbers = [number(r.reference) for r in results]
    assert numbers == sorted(numbers)
    for result in results:
        assert result.case is not None
        assert result.case.occurred_at == entries[result.key].item.disclosure.occurred_at
        assert result.case.summary == entries[result.key].item.disclosure.summary
    assert intake.client(queue_dir).flush() == []
    assert len(intake.posts) == 3


def test_flush_stops_at_the_first_entry_it_cannot_deliver(intake: Intake, queue_dir: Path) -> None:
    offline = down(queue_dir)
    keys = [offline.record_disclosure("OAK", "peer", f"Invented {i}").key for i in range(3)]

    def one_then_down(request: httpx.Request) -> httpx.Response:
        if intake.posts:
            raise httpx.ConnectError("gone again", request=request)
        answer = intake.http.send(request)
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)

    results = IntakeClient(BASE, intake.token, queue_dir, http=answering(one_then_down)).flush()
    assert [(r.key, r.outcome) for r in results] == [
        (keys[0], Outcome.RECORDED),
        (keys[1], Outcome.QUEUED),
    ]
    assert [e.key for e in offline.queued()] == keys[1:]
    later = intake.client(queue_dir).flush()
    assert [r.key for r in later] == keys[1:]
    assert number(results[0].reference) + 1 == number(later[0].reference)


def test_a_new_disclosure_waits_behind_older_queued_ones(intake: Intake, queue_dir: Path) -> None:
    older = down(queue_dir).record_disclosure("OAK", "peer", "Invented older")
    newer = intake.client(queue_dir).record_disclosure("OAK", "peer", "Invented newer")
    assert newer.outcome == Outcome.RECORDED
    assert intake.posts == [older.key, newer.key]
    assert list(queue_dir.glob("*.json")) == []


def test_a_new_disclosure_behind_an_undeliverable_one_is_queued_too(queue_dir: Path) -> None:
    offline = down(queue_dir)
    first = offline.record_disclosure("OAK", "peer", "Invented first")
    second = offline.record_disclosure("OAK", "peer", "Invented second")
    assert second.outcome == Outcome.QUEUED
    assert [e.key for e in offline.queued()] == [first.key, second.key]


class Crash(BaseException):
    """The client process dying: not an error anything in the client may catch."""


def test_a_crash_after_intake_recorded_it_is_resent_with_the_same_key_and_recorded_once(
    intake: Intake, queue_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    crashing = intake.client(queue_dir)

    def crash(entry: QueueEntry) -> None:
        raise Crash

    monkeypatch.setattr(crashing.queue, "remove", crash)
    with pytest.raises(Crash):
        crashing.record_disclosure("OAK", "peer", SUMMARY)
    [entry] = intake.client(queue_dir).queued()
    assert intake.posts == [entry.key]

    [result] = intake.client(queue_dir).flush()

    assert (result.outcome, result.status_code, result.key) == (
        Outcome.ALREADY_RECORDED,
        200,
        entry.key,
    )
    assert result.case is not None
    assert result.case.occurred_at == entry.item.disclosure.occurred_at
    assert intake.client(queue_dir).queued() == []
    # Nothing took a second reference: the next disclosure has the very next one.
    following = intake.client(queue_dir).record_disclosure("OAK", "peer", "Invented next")
    assert number(following.reference) == number(result.reference) + 1


def test_a_queued_disclosure_already_sent_by_hand_is_not_recorded_again(
    intake: Intake, queue_dir: Path
) -> None:
    down(queue_dir).record_disclosure("OAK", "peer", SUMMARY)
    [entry] = intake.client(queue_dir).queued()
    by_hand = intake.http.post(
        "/cases",
        content=entry.item.disclosure.model_dump_json(),
        headers={
            **intake.bearer(),
            "Idempotency-Key": entry.key,
            "Content-Type": "application/json",
        },
    )
    assert by_hand.status_code == 201

    [result] = intake.client(queue_dir).flush()

    assert result.outcome == Outcome.ALREADY_RECORDED
    assert result.case is not None
    assert str(result.case.case_id) == by_hand.json()["case_id"]


def test_a_failed_removal_is_not_an_error_and_the_next_flush_tidies_up(
    intake: Intake, queue_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = intake.client(queue_dir)

    def read_only(entry: QueueEntry) -> None:
        raise PermissionError("invented: read-only queue")

    monkeypatch.setattr(client.queue, "remove", read_only)
    first = client.record_disclosure("OAK", "peer", SUMMARY)
    assert first.outcome == Outcome.RECORDED
    [again] = intake.client(queue_dir).flush()
    assert again.outcome == Outcome.ALREADY_RECORDED
    assert again.case == first.case


@pytest.mark.parametrize(
    ("school", "status", "says"),
    [("ZZZ", 422, "school"), ("ELM", 403, "ELM")],  # the token acts for OAK only
)
def test_a_refusal_goes_to_rejected_with_its_reason_and_is_not_retried(
    intake: Intake, queue_dir: Path, school: str, status: int, says: str
) -> None:
    client = intake.client(queue_dir)
    result = client.record_disclosure(school, "peer", SUMMARY)
    assert (result.outcome, result.status_code) == (Outcome.REJECTED, status)
    assert says in result.reason
    assert client.queued() == []
    [rejected] = client.rejected()
    assert (rejected.key, rejected.status_code, rejected.reason) == (
        result.key,
        status,
        result.reason,
    )
    assert json.loads(rejected.path.read_text())["disclosure"]["summary"] == SUMMARY
    assert stat.S_IMODE(rejected.path.stat().st_mode) == 0o600
    assert client.flush() == []
    assert intake.posts == [result.key]


def test_a_refused_entry_does_not_hold_up_the_ones_behind_it(
    intake: Intake, queue_dir: Path
) -> None:
    offline = down(queue_dir)
    keys = [offline.record_disclosure(s, "peer", SUMMARY).key for s in ("OAK", "ZZZ", "OAK")]
    results = intake.client(queue_dir).flush()
    assert [(r.key, r.outcome) for r in results] == [
        (keys[0], Outcome.RECORDED),
        (keys[1], Outcome.REJECTED),
        (keys[2], Outcome.RECORDED),
    ]


def test_a_refused_token_keeps_the_queue_for_a_new_token(intake: Intake, queue_dir: Path) -> None:
    expired = intake.client(queue_dir, token="not-a-valid-token")
    result = expired.record_disclosure("OAK", "peer", SUMMARY)
    assert (result.outcome, result.status_code) == (Outcome.QUEUED, 401)
    assert "token" in result.reason
    assert expired.rejected() == []
    [delivered] = intake.client(queue_dir).flush()
    assert (delivered.key, delivered.outcome) == (result.key, Outcome.RECORDED)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"summary": "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAAB"}, "summary"),
        ({"occurred_at": datetime(2026, 1, 5, 10, 0)}, "occurred_at"),  # naive: refused
        ({"disclosure_route": "rumour"}, "disclosure_route"),
        ({"school": "oak"}, "school"),
    ],
)
def test_bad_input_is_refused_before_anything_is_written(
    queue_dir: Path, change: dict[str, object], field: str
) -> None:
    args: dict[str, object] = {"school": "OAK", "disclosure_route": "peer", "summary": SUMMARY}
    client = down(queue_dir)
    with pytest.raises(InvalidDisclosureError) as refused:
        client.record_disclosure(**{**args, **change})  # type: ignore[arg-type]
    assert field in str(refused.value)
    assert "iVBORw0KGgo" not in str(refused.value)
    assert list(queue_dir.rglob("*.json")) == []


def test_an_unreadable_queue_file_goes_to_rejected_and_a_torn_temp_file_is_removed(
    intake: Intake, queue_dir: Path
) -> None:
    down(queue_dir).record_disclosure("OAK", "peer", SUMMARY)
    (queue_dir / "000000000000-invented.json").write_text("{not json")
    (queue_dir / ".000000000009-x.json.dead.tmp").write_text('{"half": ')
    results = intake.client(queue_dir).flush()
    assert [r.outcome for r in results] == [Outcome.REJECTED, Outcome.RECORDED]
    assert "unreadable" in results[0].reason
    assert list(queue_dir.glob(".*.tmp")) == []
    assert [r.key for r in intake.client(queue_dir).rejected()] == ["invented"]


def test_two_flushes_at_once_send_each_disclosure_once(
    intake: Intake, queue_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    offline = down(queue_dir)
    keys = [offline.record_disclosure("OAK", "peer", f"Invented {i}").key for i in range(3)]
    a_is_sending, b_is_locking, release = threading.Event(), threading.Event(), threading.Event()

    def hold_the_first_post(request: httpx.Request) -> None:
        if threading.current_thread().name == "flush-a" and not a_is_sending.is_set():
            a_is_sending.set()
            assert release.wait(30)

    real_flock = fcntl.flock

    def flock(fd: int, operation: int) -> None:
        if threading.current_thread().name == "flush-b":
            b_is_locking.set()
        real_flock(fd, operation)

    intake.http.event_hooks["request"].insert(0, hold_the_first_post)
    monkeypatch.setattr(fcntl, "flock", flock)
    results: dict[str, list[object]] = {}

    def run(name: str) -> None:
        results[name] = list(intake.client(queue_dir).flush())

    a = threading.Thread(target=run, args=("a",), name="flush-a")
    b = threading.Thread(target=run, args=("b",), name="flush-b")
    a.start()
    assert a_is_sending.wait(30)
    # A holds the lock mid-send; B asks for it now, so B lists the queue only after A is done.
    b.start()
    assert b_is_locking.wait(30)
    release.set()
    a.join(30)
    b.join(30)
    assert [getattr(r, "key", None) for r in results["a"]] == keys
    assert results["b"] == []
    assert intake.posts == keys


# The command line.


def test_the_commands_record_queue_list_and_flush(
    intake: Intake, queue_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    nowhere = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    common = ["--queue-dir", str(queue_dir), "--token", intake.token]
    occurred = "2026-01-05T10:30:00+00:00"
    recorded = runner.invoke(
        cli,
        [*RECORD, "--occurred-at", occurred, "--url", nowhere, *common],
    )
    assert recorded.exit_code == 0, recorded.output
    assert "queued: will be sent when intake is reachable" in recorded.stdout

    listed = runner.invoke(cli, ["intake", "queue", "--queue-dir", str(queue_dir)])
    assert listed.exit_code == 0, listed.output
    [entry] = down(queue_dir).queued()
    assert entry.key in listed.stdout
    assert "OAK" in listed.stdout
    assert occurred in listed.stdout
    assert SUMMARY not in listed.output
    assert "Invented" not in listed.output

    def in_process(url: str | None, token: str | None, qd: Path | None) -> IntakeClient:
        assert qd is not None
        return intake.client(qd, token=token)

    monkeypatch.setattr(client_cli, "make_client", in_process)
    flushed = runner.invoke(cli, ["intake", "flush", *common])
    assert flushed.exit_code == 0, flushed.output
    assert "OAK-" in flushed.stdout
    assert "1 sent, 0 still queued" in flushed.stdout

    direct = runner.invoke(
        cli,
        [*RECORD[:-1], "Invented again", *common],
    )
    assert direct.exit_code == 0, direct.output
    # Both the reference people say and the case id a URL or another system may need.
    shown = re.fullmatch(r"(OAK-\d{4}-\d{4}) \(case id ([0-9a-f-]{36})\)", direct.stdout.strip())
    assert shown is not None, direct.stdout
    reference, case_id = shown.groups()
    case = intake.http.get(f"/cases/{case_id}", headers=intake.bearer())
    assert case.json()["reference"] == reference


def test_record_without_a_token_is_refused(
    queue_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SAFEGUARD_TOKEN", raising=False)
    result = CliRunner().invoke(
        cli,
        [*RECORD, "--queue-dir", str(queue_dir)],
    )
    assert result.exit_code == 2
    assert "SAFEGUARD_TOKEN" in result.output
    assert not queue_dir.exists() or list(queue_dir.glob("*.json")) == []


def test_a_refused_disclosure_exits_1_and_says_why(
    intake: Intake, queue_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        client_cli, "make_client", lambda url, token, qd: intake.client(qd, token=token)
    )
    result = CliRunner().invoke(
        cli,
        [*RECORD[:3], "ZZZ", *RECORD[4:], "--queue-dir", str(queue_dir), "--token", intake.token],
    )
    assert result.exit_code == 1
    assert "rejected by intake (422)" in result.stdout
    assert SUMMARY not in result.output


# Intake as a real process, stopped and started again.


@pytest.fixture
def intake_process(
    store: StoreChoice, nats_server: EmbeddedNats, tmp_path: Path
) -> Iterator[Services]:
    settings = store.settings(
        nats_url=nats_server.url,
        intake_port=free_port(),
        referral_port=free_port(),
        review_port=free_port(),
    )
    running = Services(settings, tmp_path)
    running.start("intake")
    yield running
    running.stop()


@pytest.mark.e2e
@pytest.mark.nats
def test_disclosures_recorded_while_intake_is_down_are_sent_once_in_order_when_it_is_back(
    intake_process: Services, tmp_path: Path
) -> None:
    services = intake_process
    url = services.url("intake")
    bearer = services.bearer(Role.STAFF, ["OAK"], user="staff.outage")
    token = bearer["Authorization"].removeprefix("Bearer ")
    queue_dir = tmp_path / "queue"
    services.stop("intake")

    with IntakeClient(url, token, queue_dir, timeout=5) as client:
        queued = [
            client.record_disclosure("OAK", "peer", f"Invented during the outage {i}")
            for i in range(3)
        ]
        assert [r.outcome for r in queued] == [Outcome.QUEUED] * 3
        entries = client.queued()
        assert [e.key for e in entries] == [r.key for r in queued]
        assert len(list(queue_dir.glob("*.json"))) == 3
        restarted_at = datetime.now(UTC)

        services.start("intake")
        results = client.flush()

        assert [(r.key, r.outcome) for r in results] == [(r.key, Outcome.RECORDED) for r in queued]
        numbers = [number(r.reference) for r in results]
        assert numbers == sorted(numbers)
        assert len(set(numbers)) == 3
        for result, entry in zip(results, entries, strict=True):
            assert result.case is not None
            occurred_at = entry.item.disclosure.occurred_at
            assert occurred_at is not None
            assert result.case.occurred_at == occurred_at < restarted_at
            assert result.case.recorded_at >= restarted_at
            assert client.get_case(result.case.case_id) == result.case
        assert client.queued() == []
        assert client.flush() == []

        # Sent again by hand with its key: the same case, not a second one.
        again = httpx.post(
            f"{url}/cases",
            content=entries[0].item.disclosure.model_dump_json(),
            headers={
                **bearer,
                "Idempotency-Key": entries[0].key,
                "Content-Type": "application/json",
            },
        )
        assert again.status_code == 200
        assert results[0].case is not None
        assert again.json()["case_id"] == str(results[0].case.case_id)
        # Nothing took a reference twice.
        after = client.record_disclosure("OAK", "peer", "Invented after the outage")
        assert number(after.reference) == numbers[-1] + 1
