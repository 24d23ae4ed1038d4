"""The current code reads what the code before issue 13 stored and published.

``fixture_before_issue_13/`` was written by :mod:`tests.compat.make_fixture` on the commit its
manifest names, before intake's, referral's and review's domain events moved into modules by
policy step. Each test here works on a copy of it, with the code as it is now: every stored
event's topic resolves and every aggregate reads; the APIs answer as they did; the audit
commands agree with what was recorded; review rebuilt from the streams is the same as review's
store; and no HTTP route the fixture was written through has gone away.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.application import Application
from eventsourcing.utils import resolve_topic
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from ops.cli import app as cli
from services.intake.application import Intake
from services.referral.application import Referrals
from services.review.application import Reviews
from shared.embedded_nats import EmbeddedNats
from shared.identity import Role
from shared.settings import SERVICE_NAMES, Settings
from shared.store import application_env
from tests.compat.fixture import (
    FIXTURE,
    READ,
    SECRET,
    STREAMS,
    all_routes,
    case_answers,
    jsonable,
    republish,
    stored_topics,
)

MANIFEST: dict[str, Any] = json.loads((FIXTURE / "manifest.json").read_text())
APPLICATIONS: dict[str, type[Application[UUID]]] = {
    "intake": Intake,
    "referral": Referrals,
    "review": Reviews,
}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings on a copy of the fixture's stores, so that nothing here changes the fixture."""
    shutil.copytree(FIXTURE / "var", tmp_path / "var")
    return Settings(var_dir=tmp_path / "var", nats_url="", jwt_secret=SECRET)


def cli_output(settings: Settings, *args: str, **env: str) -> str:
    """``safeguard ARGS`` on the copied stores; it must exit 0."""
    result = CliRunner().invoke(
        cli, list(args), env={"SAFEGUARD_VAR_DIR": str(settings.var_dir), **env}
    )
    assert result.exit_code == 0, f"safeguard {' '.join(args)}: {result.output}"
    return result.output


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_every_stored_event_resolves_and_every_aggregate_reads(
    settings: Settings, service: str
) -> None:
    app = APPLICATIONS[service](application_env(settings, service))
    try:
        originators = set()
        for notification in app.recorder.select_notifications(start=1, limit=100_000):
            resolve_topic(notification.topic)  # an old topic must stay registered
            event = app.mapper.to_domain_event(notification)
            originators.add(event.originator_id)
        assert stored_topics(app) == Counter(MANIFEST["topics"][service])
        for originator_id in originators:
            aggregate: Any = app.repository.get(originator_id)
            assert aggregate.id == originator_id
    finally:
        app.close()


def test_review_reads_each_case_and_its_chain_as_recorded(settings: Settings) -> None:
    reviews = Reviews(application_env(settings, "review"))
    try:
        assert sorted(map(str, reviews.case_ids())) == sorted(
            c["case_id"] for c in MANIFEST["cases"].values()
        )
        for case in MANIFEST["cases"].values():
            record = reviews.get_case(UUID(case["case_id"]))
            assert (record.school, record.reference) == (case["school"], case["reference"])
            kinds = Counter(e.kind for e in record.entries)
            assert kinds == Counter(case["stored_entry_kinds"])
            assert kinds[READ] == case["reads"] > 0  # the access log, too
            assert reviews.verify(record.id) is None
            assert (len(record.entries), record.entries[-1].hash) == (
                case["chain_entries"],
                case["chain_head"],
            )
    finally:
        reviews.close()


@pytest.fixture
def clients(settings: Settings) -> Iterator[dict[str, TestClient]]:
    """The three services' HTTP apps on the copied stores, built as the runtime builds them."""
    import importlib

    with ExitStack() as stack:
        yield {
            name: stack.enter_context(
                TestClient(
                    importlib.import_module(f"services.{name}.entrypoint").create_app(settings)
                )
            )
            for name in SERVICE_NAMES
        }


def test_the_apis_answer_each_case_as_when_it_was_recorded(
    clients: dict[str, TestClient],
) -> None:
    tokens = clients["review"].app.state.tokens  # type: ignore[attr-defined]
    for label, case in MANIFEST["cases"].items():
        dsl = {"Authorization": f"Bearer {tokens.issue('dsl.fixture', Role.DSL, [case['school']])}"}
        answers = case_answers(partial(as_dsl, clients, dsl), case["case_id"])
        assert jsonable(answers) == case["answers"], label


def as_dsl(clients: dict[str, TestClient], dsl: dict[str, str], service: str, path: str) -> Any:
    r = clients[service].get(path, headers=dsl)
    assert r.status_code == 200, f"{service} GET {path}: {r.status_code} {r.text[:500]}"
    return r.json()


def test_audit_replay_and_verify_agree_with_what_was_recorded(settings: Settings) -> None:
    replay = cli_output(settings, "audit", "replay")
    assert replay.strip().splitlines()[-1] == MANIFEST["audit"]["replay"]
    assert "DIFFERS" not in replay
    verify = cli_output(settings, "audit", "verify")
    assert verify.strip().splitlines()[-1] == MANIFEST["audit"]["verify"]
    assert "BROKEN" not in verify
    # verify prints no heads: the heads it walked to are the last entries' hashes.
    reviews = Reviews(application_env(settings, "review"))
    try:
        heads = {c: reviews.get_case(c).entries[-1].hash for c in reviews.case_ids()}
    finally:
        reviews.close()
    assert heads == {UUID(c["case_id"]): c["chain_head"] for c in MANIFEST["cases"].values()}


@pytest.mark.nats
def test_review_rebuilt_from_the_streams_is_the_same_as_its_store(
    settings: Settings, tmp_path: Path
) -> None:
    with EmbeddedNats(tmp_path / "nats", log_file=tmp_path / "nats.log") as nats:
        published = republish(nats.url, FIXTURE / "streams", settings)
        assert published == MANIFEST["streams"]
        output = cli_output(settings, "review", "rebuild", NATS_URL=nats.url)
    assert "UNREADABLE" not in output
    assert "DIFFERS" not in output
    cases = len(MANIFEST["cases"])
    assert output.strip().splitlines()[-1] == f"{cases} cases compared: the same", output
    assert f"rebuilt {sum(published[s] for s in STREAMS if s != 'DEADLETTER'):,} " in output


def test_no_route_the_fixture_was_written_through_has_gone_away(tmp_path: Path) -> None:
    """The fixture called every POST route there was when it was written (its generator
    fails otherwise). A route added since is not in it, and need not be: the fixture is what
    the old code wrote, never regenerated. A route gone is an entry the old code recorded that
    can no longer be."""
    now = all_routes(Settings(var_dir=tmp_path / "var", nats_url="", jwt_secret=SECRET))
    for service in SERVICE_NAMES:
        then = {tuple(route) for route in MANIFEST["routes"][service]}
        called = {tuple(route) for route in MANIFEST["routes_called"][service]}
        assert {r for r in then if r[0] == "POST"} <= called
        gone = sorted(then - set(now[service]))
        assert not gone, f"{service}: routes the fixture was written through are gone: {gone}"
