"""The auditor's pages against the running services: the trust's cases, filtered by school; a
case that changed over time (a disclosure, then a triage, then its correction) shown as it stood
between two entries, stepped through entry by entry and shown now with the correction beside
what it corrects; each page view in the access log under the auditor's own name; a moment in
the future or before the case refused in words; an entry altered in the store shown as where
the hash chain breaks; no such case the 404 page; staff and DSLs refused."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from ops.demo import DEMO_DISCLOSURE, DEMO_TRIAGE
from services.web.pages.auditor import fields_of, local
from shared.identity import ALL_SCHOOLS, Role
from shared.store import store_env
from tests.conftest import StoreChoice
from tests.review.test_chain import rewrite_stored_event
from tests.web.stack import Stack
from tests.web.stack import stack as stack  # the fixture, whatever conftest holds

pytestmark = [pytest.mark.nats, pytest.mark.e2e]

AUDITOR = "auditor@trust.example"
DSL = (Role.DSL, ["OAK"])
LONDON = ZoneInfo("Europe/London")
CORRECTED_TRIAGE = {
    **DEMO_TRIAGE,
    "how_widely_shared": "widely",
    "reason": "Invented: the student later said the image went to several group chats.",
}


def chain_of(stack: Stack, case_id: str, school: str = "OAK") -> list[dict[str, Any]]:
    """The case's entries as review holds them, reads left out (this read is recorded, under
    the test's own name, as the school's DSL)."""
    answer = stack.api("review", "GET", f"/cases/{case_id}/chain", Role.DSL, [school])
    if answer.status_code != 200:
        return []
    return [e for e in answer.json()["entries"] if e["kind"] != "case_read"]


def kinds_once(stack: Stack, case_id: str, *kinds: str) -> list[dict[str, Any]]:
    """The entries, once review holds entries of each of ``kinds`` and referral's assessment
    after the last of them."""
    entries = chain_of(stack, case_id)
    held = [e["kind"] for e in entries]
    if all(k in held for k in kinds) and held[-1] == "assessment_recorded":
        return entries
    return []


def disclose(stack: Stack, school: str, summary: str) -> str:
    answer = stack.api(
        "intake",
        "POST",
        "/cases",
        Role.STAFF,
        [school],
        json={"school": school, **DEMO_DISCLOSURE, "summary": summary},
    )
    assert answer.status_code == 201, answer.text
    case_id: str = answer.json()["case_id"]
    return case_id


@dataclass
class Changed:
    """A case that changed over time: its entries as review holds them, and the moment between
    the disclosure (with its first assessment) and the triage."""

    case_id: str
    reference: str
    entries: list[dict[str, Any]]
    between: datetime

    def recorded(self, kind: str) -> dict[str, Any]:
        return next(e for e in self.entries if e["kind"] == kind)


@pytest.fixture(scope="module")
def changed(stack: Stack) -> Changed:
    """Disclosed at Oak; triaged once review held the disclosure and its first assessment;
    the triage corrected, with its reason, once review held the triage."""
    case_id = disclose(stack, "OAK", "Invented: a Year 9 student says an image was forwarded.")
    first = stack.wait_for(lambda: kinds_once(stack, case_id, "disclosure_recorded"))
    triaged = stack.api("intake", "POST", f"/cases/{case_id}/triage", *DSL, json=DEMO_TRIAGE)
    assert triaged.status_code == 201, triaged.text
    stack.wait_for(lambda: kinds_once(stack, case_id, "triage_recorded"))
    corrected = stack.api("intake", "POST", f"/cases/{case_id}/triage", *DSL, json=CORRECTED_TRIAGE)
    assert corrected.status_code == 201, corrected.text
    entries = stack.wait_for(lambda: kinds_once(stack, case_id, "triage_corrected"))
    last_before = max(datetime.fromisoformat(e["recorded_at"]) for e in first)
    triaged = datetime.fromisoformat(
        next(e["recorded_at"] for e in entries if e["kind"] == "triage_recorded")
    )
    assert last_before < triaged
    reference = stack.api("review", "GET", f"/cases/{case_id}/chain", *DSL).json()["reference"]
    return Changed(case_id, reference, entries, last_before + (triaged - last_before) / 2)


@pytest.fixture
def auditor(stack: Stack) -> Iterator[TestClient]:
    """The trust's auditor, signed in through the pages with a code from their app."""
    with stack.signed_in(AUDITOR, Role.AUDITOR, [ALL_SCHOOLS]) as client:
        yield client


def at(case_id: str, moment: datetime) -> str:
    return f"/audit/cases/{case_id}?{urlencode({'at': moment.isoformat()})}"


def link(page: str, button: str) -> str:
    """Where a step button (a link) goes."""
    found = re.search(rf'<a href="([^"]+)"[^>]*id="{button}"', page)
    assert found, f"no {button} button"
    return html.unescape(found.group(1))


def entry_item(page: str, number: int) -> str:
    """The timeline's item of an entry: its words, and the corrections beside it."""
    found = re.search(
        rf'<li class="app-timeline__item" id="entry-{number}">(.*?)\n  </li>', page, re.S
    )
    assert found, f"entry {number} is not in the timeline"
    return found.group(1)


def test_the_auditor_lists_the_trust_s_cases_and_filters_them_by_school(
    stack: Stack, changed: Changed, auditor: TestClient
) -> None:
    elm = disclose(stack, "ELM", "Invented: an Elmbridge student says an image was shared.")
    stack.wait_for(lambda: chain_of(stack, elm, "ELM"))
    page = auditor.get("/audit")
    assert page.status_code == 200, page.text
    assert "Cases across the trust" in page.text
    assert f'href="/audit/cases/{changed.case_id}"' in page.text
    assert f'href="/audit/cases/{elm}"' in page.text
    assert "Oakfield Academy (demo)" in page.text
    assert "Elmbridge High School (demo)" in page.text
    last = max(datetime.fromisoformat(e["recorded_at"]) for e in changed.entries)
    assert local(last, LONDON) in page.text  # the last change, in the trust's time
    only_elm = auditor.get("/audit?school=ELM")
    assert f'href="/audit/cases/{elm}"' in only_elm.text
    assert f'href="/audit/cases/{changed.case_id}"' not in only_elm.text
    unknown = auditor.get("/audit?school=NOPE")
    assert unknown.status_code == 400
    assert 'href="#school"' in unknown.text  # the error summary links to the field


def test_between_two_entries_the_case_shows_the_first_and_not_the_second(
    changed: Changed, auditor: TestClient
) -> None:
    page = auditor.get(at(changed.case_id, changed.between))
    assert page.status_code == 200, page.text
    text = page.text
    assert f"as it stood at {local(changed.between, LONDON)}" in text
    assert "Invented: a Year 9 student says an image was forwarded." in text
    assert "Disclosure recorded" in text
    assert "Triage recorded" not in text
    assert "Triage corrected" not in text
    # The form says the same moment, in the trust's time.
    for name, value in fields_of(changed.between, LONDON).items():
        assert f'name="moment-{name}" type="text" value="{value}"' in text
    # Each entry shown is verified in the chain, in words.
    disclosure = changed.recorded("disclosure_recorded")["number"]
    assert "Chain verified" in entry_item(text, disclosure)
    assert "Chain broken" not in text


def test_the_step_buttons_move_the_moment_from_entry_to_entry(
    changed: Changed, auditor: TestClient
) -> None:
    between = auditor.get(at(changed.case_id, changed.between)).text
    triaged = changed.recorded("triage_recorded")
    assert link(between, "next-entry") == at(
        changed.case_id, datetime.fromisoformat(triaged["recorded_at"])
    )
    after = auditor.get(link(between, "next-entry")).text
    assert "Triage recorded" in after
    assert "Triage corrected" not in after
    back = auditor.get(link(after, "previous-entry")).text
    assert "Disclosure recorded" in back
    assert "Triage recorded" not in back
    now = auditor.get(link(back, "now"))
    assert now.status_code == 200
    assert "as it stands now" in now.text
    assert 'id="next-entry"' not in now.text  # nothing after now
    # The first entry has nothing before it.
    first = auditor.get(
        at(changed.case_id, datetime.fromisoformat(changed.entries[0]["recorded_at"]))
    )
    assert 'id="previous-entry"' not in first.text
    assert "There is no earlier entry" in first.text


def test_now_the_correction_stands_beside_the_triage_it_corrects(
    stack: Stack, changed: Changed, auditor: TestClient
) -> None:
    triage = changed.recorded("triage_recorded")["number"]
    correction = changed.recorded("triage_corrected")["number"]
    # The form, as a person types it: the second after the last entry, in the trust's time.
    last = max(datetime.fromisoformat(e["recorded_at"]) for e in changed.entries)
    moment = last.replace(microsecond=0) + timedelta(seconds=1)
    stack.wait_for(lambda: datetime.now(UTC) > moment)
    fields = {f"moment-{k}": v for k, v in fields_of(moment, LONDON).items()}
    page = auditor.get(f"/audit/cases/{changed.case_id}", params=fields)
    assert page.status_code == 200, page.text
    assert f"as it stood at {local(moment, LONDON)}" in page.text
    item = entry_item(page.text, triage)
    assert f'id="entry-{correction}"' in item
    assert f"Corrects entry {triage}" in item
    assert "Why corrected: Invented: the student later said" in item


def test_each_page_view_is_in_the_access_log_under_the_auditor_s_name(
    stack: Stack, changed: Changed, auditor: TestClient
) -> None:
    assert auditor.get(at(changed.case_id, changed.between)).status_code == 200
    page = auditor.get(f"/audit/cases/{changed.case_id}")
    log = re.search(r'<table class="govuk-table" id="reads">(.*?)</table>', page.text, re.S)
    assert log, page.text
    assert f"{AUDITOR} (Auditor)" in log.group(1)
    assert local(changed.between, LONDON) in log.group(1)  # the earlier view, as of its moment
    # Review holds them: the page's reads went to its API under the auditor's own name.
    reads = stack.api("review", "GET", f"/cases/{changed.case_id}", *DSL).json()["reads"]
    mine = [(r["what"], r["as_of"]) for r in reads if r["user"] == AUDITOR]
    assert all(r["role"] == "auditor" for r in reads if r["user"] == AUDITOR)
    assert ("case_view", changed.between.isoformat()) in mine
    assert ("case_view", None) in mine
    assert ("chain", None) in mine


def test_a_moment_in_the_future_or_before_the_case_is_refused_in_words(
    changed: Changed, auditor: TestClient
) -> None:
    path = f"/audit/cases/{changed.case_id}"
    tomorrow = fields_of(datetime.now(UTC) + timedelta(days=1), LONDON)
    future = auditor.get(path, params={f"moment-{k}": v for k, v in tomorrow.items()})
    assert future.status_code == 400
    assert "The moment must be now or in the past" in future.text
    assert 'href="#moment-day"' in future.text
    before = auditor.get(
        path,
        params={
            "moment-day": "1",
            "moment-month": "1",
            "moment-year": "2020",
            "moment-hour": "9",
            "moment-minute": "0",
        },
    )
    assert before.status_code == 400
    assert "The case was first recorded at" in before.text
    assert "Show the case as it stood when it was first recorded" in before.text
    not_a_date = auditor.get(
        path,
        params={
            "moment-day": "31",
            "moment-month": "2",
            "moment-year": "2026",
            "moment-hour": "9",
            "moment-minute": "0",
        },
    )
    assert not_a_date.status_code == 400
    assert "The date must be a real date" in not_a_date.text
    early = auditor.get(at(changed.case_id, datetime(2020, 1, 1, tzinfo=UTC)))
    assert early.status_code == 400
    assert "The case was first recorded at" in early.text
    for odd in ("yesterday", "0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59-12:00", "²"):
        answer = auditor.get(path, params={"at": odd})
        assert answer.status_code == 400, odd
        assert "There is a problem" in answer.text


def test_an_entry_altered_in_the_store_is_shown_where_the_chain_breaks(
    stack: Stack, auditor: TestClient, tmp_path: Path
) -> None:
    marker = "Invented: tamper-marker-original"
    case_id = disclose(stack, "OAK", marker)
    stack.wait_for(lambda: kinds_once(stack, case_id, "disclosure_recorded"))
    env = store_env(stack.settings, "review")
    # Version 1 opens the record; version 2 is its first entry, the disclosure.
    rewrite_stored_event(
        "stored_events",
        StoreChoice("sqlite", tmp_path),
        env,
        2,
        UUID(case_id),
        marker,
        "Invented: tamper-marker-ALTERED",
    )
    page = auditor.get(f"/audit/cases/{case_id}")
    assert page.status_code == 200, page.text
    assert "The hash chain is broken at entry 1" in page.text
    assert "no longer matches its hash" in page.text
    assert "Chain broken" in entry_item(page.text, 1)
    assert "Chain verified" not in page.text


def test_no_such_case_is_the_404_page(auditor: TestClient) -> None:
    for path in (
        f"/audit/cases/{uuid4()}",
        "/audit/cases/not-a-case",
        "/audit/cases/OAK-2026-9999",
    ):
        page = auditor.get(path)
        assert page.status_code == 404, path
        assert "Page not found" in page.text
        assert "There is no such case" in page.text


def test_staff_and_a_dsl_are_refused_the_auditor_s_pages(stack: Stack, changed: Changed) -> None:
    for username, role in (("teacher@oak.example", Role.STAFF), ("dsl@oak.example", Role.DSL)):
        with stack.signed_in(username, role, ["OAK"]) as client:
            for path in ("/audit", f"/audit/cases/{changed.case_id}"):
                page = client.get(path)
                assert page.status_code == 403, (username, path)
                assert "Your role does not use this page" in page.text
    with stack.client() as anonymous:
        answer = anonymous.get("/audit", follow_redirects=False)
    assert (answer.status_code, answer.headers["location"]) == (303, "/sign-in?then=/audit")
