"""What the generator of the fixture (:mod:`tests.compat.make_fixture`) and its test
(:mod:`tests.compat.test_store_before_issue_13`) share: where the fixture lives, the routes of
the three apps, the JetStream streams as JSON lines, what a store holds, and each case as the
three services' APIs answer for it (only what does not change with the clock).
"""

from __future__ import annotations

import asyncio
import base64
import importlib
import json
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.application import Application

from shared.contracts.streams import DEAD_LETTER_STREAM, PRODUCER_STREAMS
from shared.settings import SERVICE_NAMES, Settings

FIXTURE = Path(__file__).parent / "fixture_before_issue_13"
"""The fixture: ``var/<service>.sqlite``, ``streams/<STREAM>.jsonl`` and ``manifest.json``."""
STREAMS = tuple(spec.name for spec in (*PRODUCER_STREAMS.values(), DEAD_LETTER_STREAM))
SECRET = "compat-fixture-signing-key-invented-and-long-enough"
"""The key the fixture's tokens were signed with (tokens are never stored)."""
READ = "case_read"
"""Review's entry for a read of a case (its access log): each GET adds one, so the views below
leave them out, and the stored entries count them."""


def routes(service: str, settings: Settings) -> list[tuple[str, str]]:
    """Every (METHOD, path) ``service``'s HTTP app documents, from its OpenAPI."""
    entrypoint = importlib.import_module(f"services.{service}.entrypoint")
    paths: dict[str, dict[str, Any]] = entrypoint.create_app(settings).openapi()["paths"]
    return sorted((method.upper(), path) for path, ops in paths.items() for method in ops)


def all_routes(settings: Settings) -> dict[str, list[tuple[str, str]]]:
    return {service: routes(service, settings) for service in SERVICE_NAMES}


# --- the streams, as JSON lines ---------------------------------------------------------------


def message_line(seq: int, subject: str, headers: dict[str, str] | None, data: bytes) -> str:
    return json.dumps(
        {
            "seq": seq,
            "subject": subject,
            "headers": dict(headers or {}),
            "data": base64.b64encode(data).decode(),
        },
        sort_keys=True,
    )


def read_messages(path: Path) -> Iterator[tuple[int, str, dict[str, str], bytes]]:
    """(sequence, subject, headers, data) of each message written by :func:`message_line`."""
    for line in path.read_text().splitlines():
        if line.strip():
            m = json.loads(line)
            yield m["seq"], m["subject"], m["headers"], base64.b64decode(m["data"])


def dump_streams(nats_url: str, out: Path) -> dict[str, int]:
    """Every message of every stream into ``out/<STREAM>.jsonl``; the count of each."""
    out.mkdir(parents=True, exist_ok=True)
    lines = asyncio.run(_stream_lines(nats_url))
    for name, written in lines.items():
        (out / f"{name}.jsonl").write_text("".join(f"{line}\n" for line in written))
    return {name: len(written) for name, written in lines.items()}


async def _stream_lines(nats_url: str) -> dict[str, list[str]]:
    from shared.bus import connect

    nc = await connect(nats_url, "compat-fixture-dump")
    lines: dict[str, list[str]] = {}
    try:
        js = nc.jetstream()
        for name in STREAMS:
            info = await js.stream_info(name)
            lines[name] = []
            if info.state.messages:
                for seq in range(info.state.first_seq, info.state.last_seq + 1):
                    msg = await js.get_msg(name, seq)
                    assert msg.seq == seq, f"{name}: asked for {seq}, given {msg.seq}"
                    line = message_line(seq, msg.subject or "", msg.headers, msg.data or b"")
                    lines[name].append(line)
    finally:
        await nc.close()
    return lines


def republish(nats_url: str, streams: Path, settings: Settings) -> dict[str, int]:
    """Declare the streams as the services do, and publish each stream's messages into it,
    in order, with their headers (message ids, positions); the count of each."""
    messages = {name: list(read_messages(streams / f"{name}.jsonl")) for name in STREAMS}
    asyncio.run(_publish(nats_url, messages, settings))
    return {name: len(listed) for name, listed in messages.items()}


async def _publish(
    nats_url: str,
    messages: dict[str, list[tuple[int, str, dict[str, str], bytes]]],
    settings: Settings,
) -> None:
    from shared.bus import connect, ensure_streams

    nc = await connect(nats_url, "compat-fixture-republish")
    try:
        js = nc.jetstream()
        await ensure_streams(js, settings)
        for name, listed in messages.items():
            for _, subject, headers, data in listed:
                await js.publish(subject, data, headers=headers or None, stream=name)
    finally:
        await nc.close()


# --- what a store holds -----------------------------------------------------------------------


def stored_topics(app: Application[UUID]) -> Counter[str]:
    """How many events of each topic ``app``'s store holds."""
    counts: Counter[str] = Counter()
    start = 1
    while True:
        page = app.recorder.select_notifications(start=start, limit=500)
        if not page:
            return counts
        counts.update(n.topic for n in page)
        start = page[-1].id + 1


# --- a case, as the APIs answer -------------------------------------------------------------


Get = Callable[[str, str], Any]
"""GET (service, path) as a DSL of the case's school: the answer's JSON, which must be a 200."""


def case_answers(get: Get, case_id: str) -> dict[str, Any]:
    """What each service answers about ``case_id``, less what moves with the clock (overdue,
    deadlines from now) and review's own reads of it: entry counts, kinds and references."""
    intake = get("intake", f"/cases/{case_id}")
    image = get("intake", f"/cases/{case_id}/image")
    triage = get("intake", f"/cases/{case_id}/triage")
    people = get("intake", f"/cases/{case_id}/young-people")
    informed = get("intake", f"/cases/{case_id}/informed")
    referral = get("referral", f"/cases/{case_id}")
    assessments = get("referral", f"/cases/{case_id}/assessments")
    chronology = get("review", f"/cases/{case_id}/chronology")
    view = get("review", f"/cases/{case_id}")
    entries = [e for e in chronology["entries"] if e["kind"] != READ]
    return {
        "intake": {
            "reference": intake["reference"],
            "school": intake["school"],
            "dsl": intake["dsl"],
            "young_people": sorted(p["pseudonym"] for p in intake["young_people"]),
            "young_person_records": [(p["pseudonym"], p["reason"]) for p in people],
            "triage_reasons": [t["reason"] for t in triage],
            "informed": [(i["audience"], i["person"], i["how"]) for i in informed],
            "image": {k: len(v) for k, v in sorted(image.items())},
            "flagged_for_review": intake["flagged_for_review"],
        },
        "referral": {
            "reference": referral["reference"],
            "classification": [referral["classification"], referral["subtype"]],
            "computed": [referral["computed_classification"], referral["computed_subtype"]],
            "policy_version": referral["policy_version"],
            "actions": sorted((a["action"], a["level"], a["status"]) for a in referral["actions"]),
            "assessments": [
                (a["number"], a["classification"], a["policy_version"], a["caused_by"])
                for a in assessments["assessments"]
            ],
        },
        "review": {
            "reference": view["reference"],
            "status": view["status"],
            "version": view["version"],
            "dsl": view["dsl"],
            "classification": [view["classification"], view["subtype"]],
            "parents": view["parents"]["status"],
            "actions": sorted((a["action"], a["status"]) for a in view["actions"]),
            "transfers": [(t["to_school"], t["confirmed"]) for t in view["transfers"]],
            "entries": len(entries),
            "kinds": dict(sorted(Counter(e["kind"] for e in entries).items())),
            "sources": sorted(e["source"] for e in entries if ":" in e["source"]),
        },
    }


def jsonable(value: Any) -> Any:
    """``value`` as it reads back from JSON (tuples as lists), to compare with the manifest."""
    return json.loads(json.dumps(value))
