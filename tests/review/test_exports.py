"""A case's history exported as PDF and JSON: the PDF opens and holds the header, every entry and
the chain's verification, its times in the trust's time zone; the JSON is the chronology,
checkable again from the export alone, its times ISO 8601 with their offsets; every export is a
read of the case; as_of exports only what was on record then; text a font cannot show never
breaks an export; making a PDF writes nothing to the log."""

from __future__ import annotations

import io
import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from services.review.adapters.export import build_export
from services.review.adapters.pdf import FONT, printable, render_pdf
from services.review.domain.access_log import CaseRead
from services.review.domain.chain import ChainBreak, entry_hash, verify
from shared.identity import Role
from tests.review.conftest import bearer, reviews_of
from tests.review.story import T0, Story, action, minutes

SUPPORT = {"pseudonym": "YP-1", "kind": "pastoral", "given_by": "Head of Year", "detail": "Daily"}
# Words a summary may really hold: typographic quotes and dashes, names in other alphabets,
# an emoji, a Windows line ending, a control character.
UNUSUAL = (
    "It\u2019s \u201cfine\u201d \u2013 \u0141ukasz, Zo\u00eb, "
    "\u0399\u03c9\u03ac\u03bd\u03bd\u03b1, \u4e2d\u6587 \U0001f600\r\nnext line\x07 end"
)


def a_case(client: TestClient) -> Story:
    story = Story(reviews_of(client))
    story.disclosure(T0).dsl("dsl.oak", T0 + minutes(1)).assessed(
        T0 + minutes(2), action("parents_or_carers"), action("police", "dsl_decides")
    )
    recorded = client.post(f"/cases/{story.case_id}/support", json=SUPPORT, headers=bearer(client))
    assert recorded.status_code == 201, recorded.text
    return story


def pdf_text(content: bytes) -> tuple[str, int]:
    """The PDF's text, its whitespace made single spaces, and its number of pages."""
    reader = PdfReader(io.BytesIO(content))
    text = " ".join(page.extract_text() for page in reader.pages)
    return re.sub(r"\s+", " ", text), len(reader.pages)


def squeeze(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def export(client: TestClient, story: Story, kind: str, **params: str) -> Any:
    response = client.get(
        f"/cases/{story.case_id}/export.{kind}", headers=bearer(client), params=params
    )
    assert response.status_code == 200, response.text
    return response


def test_the_pdf_opens_and_holds_the_header_every_entry_and_the_verification(
    client: TestClient,
) -> None:
    story = a_case(client)
    response = export(client, story, "pdf")
    assert response.headers["content-type"] == "application/pdf"
    assert 'filename="case-history-OAK-2026-0007.pdf"' in response.headers["content-disposition"]
    assert response.headers["cache-control"] == "no-store"
    text, pages = pdf_text(response.content)
    assert "Case history OAK-2026-0007" in text
    assert "Oakfield Academy (demo) (OAK)" in text
    assert "experimental, romantic" in text  # the classification in force
    assert "dsl.oak" in text
    record = reviews_of(client).get_case(story.case_id)
    entries = record.chronology()
    assert entries[-1].kind == CaseRead.KIND  # the export's own read
    for entry in entries:
        assert squeeze(entry.summary) in text, entry.summary
        assert entry.hash[:12] in text
    assert f"all {len(entries)} entries on record" in text
    assert "Hash chain verified intact when exported" in text
    assert record.entries[-1].hash in text  # the chain's head, in full
    assert "Exported by dsl.test (dsl)" in text
    assert f"Page {pages} of {pages}" in text


def test_the_pdf_holds_the_entries_in_the_order_things_happened(client: TestClient) -> None:
    story = a_case(client)
    # Recorded last, happened first: an entry written up later from paper.
    late = client.post(
        f"/cases/{story.case_id}/staff-informed",
        json={
            "staff": "Year 9 tutors",
            "what_and_why": "Invented: told before the assessment",
            "occurred_at": (T0 + minutes(1.5)).isoformat(),
        },
        headers=bearer(client),
    )
    assert late.status_code == 201, late.text
    text, _ = pdf_text(export(client, story, "pdf").content)
    chronology = reviews_of(client).get_case(story.case_id).chronology()
    assert [e.kind for e in chronology][:4] == [
        "disclosure_recorded",
        "dsl_assigned",
        "staff_informed",
        "assessment_recorded",
    ]
    positions = [
        text.index(f"{e.number}. {words}")
        for e, words in zip(chronology[:4], KIND_WORDS, strict=True)
    ]
    assert positions == sorted(positions)


KIND_WORDS = ("Disclosure recorded", "DSL assigned", "Staff informed", "Assessment recorded")


def test_the_json_export_is_the_chronology_and_checkable_from_itself(
    client: TestClient,
) -> None:
    story = a_case(client)
    exported = export(client, story, "json").json()
    record = reviews_of(client).get_case(story.case_id)
    fields = ("number", "kind", "summary", "actor", "actor_role", "source", "subject", "payload")
    assert [{f: e[f] for f in fields} for e in exported["entries"]] == [
        {f: getattr(e, f) for f in fields} for e in record.chronology()
    ]
    assert [e["hash"] for e in exported["entries"]] == [e.hash for e in record.chronology()]
    # Each hash is recomputed from the export alone (times as hashed), and the chain holds.
    assert all(entry_hash(e) == e["hash"] for e in exported["entries"])
    assert verify(sorted(exported["entries"], key=lambda e: e["number"])) is None
    assert exported["chain"] == {
        "intact": True,
        "entries_verified": len(record.entries),
        "broken_at": None,
        "problem": "",
        "head_hash": record.entries[-1].hash,
    }
    case = exported["case"]
    assert (case["classification"], case["dsl"], case["status"]) == (
        "experimental",
        "dsl.oak",
        "open",
    )
    assert case["open_actions"] == ["parents_or_carers", "police"]
    assert (exported["exported_by"], exported["exported_by_role"]) == ("dsl.test", "dsl")
    assert exported["school_name"] == "Oakfield Academy (demo)"
    # The trust's time zone is named; the times stay as recorded, ISO 8601 with their offset.
    assert exported["timezone"] == "Europe/London"
    assert exported["entries"][0]["occurred_at"] == T0.isoformat() == "2026-11-24T09:00:00+00:00"
    assert datetime.fromisoformat(exported["exported_at"]).utcoffset() == timedelta(0)


def test_each_export_is_recorded_as_a_read(client: TestClient) -> None:
    story = a_case(client)
    pdf_at = datetime.now(UTC)
    export(client, story, "pdf")
    auditor = bearer(client, Role.AUDITOR, ("OAK",), user="auditor.trust")
    exported = client.get(f"/cases/{story.case_id}/export.json", headers=auditor).json()
    # The JSON export holds its own read, and the PDF's before it.
    reads = [e for e in exported["entries"] if e["kind"] == CaseRead.KIND]
    assert [(r["actor"], r["actor_role"], r["summary"]) for r in reads] == [
        ("dsl.test", "dsl", "export.pdf read"),
        ("auditor.trust", "auditor", "export.json read"),
    ]
    exported_at = datetime.fromisoformat(exported["exported_at"])
    assert exported_at == datetime.fromisoformat(reads[-1]["recorded_at"])
    assert datetime.fromisoformat(reads[0]["recorded_at"]) >= pdf_at
    view = client.get(f"/cases/{story.case_id}", headers=bearer(client)).json()
    assert [r["what"] for r in view["reads"]][:2] == ["export.pdf", "export.json"]


def test_an_export_as_of_holds_only_the_entries_on_record_then(client: TestClient) -> None:
    story = a_case(client)
    then = T0 + minutes(1.5)
    exported = export(client, story, "json", as_of=then.isoformat()).json()
    assert [e["kind"] for e in exported["entries"]] == ["disclosure_recorded", "dsl_assigned"]
    assert exported["case"]["classification"] == "undetermined"  # not assessed yet
    assert datetime.fromisoformat(exported["as_of"]) == then
    text, _ = pdf_text(export(client, story, "pdf", as_of=then.isoformat()).content)
    assert "As the case stood at 24 Nov 2026 09:01:30 GMT" in text
    assert "Support given" not in text
    assert "Assessment recorded" not in text
    # Both exports are recorded, as of when they were made.
    record = reviews_of(client).get_case(story.case_id)
    assert [e.summary.split(",")[0] for e in record.entries[-2:]] == [
        "export.json read",
        "export.pdf read",
    ]


SUMMER = datetime(2026, 7, 1, 13, 5, tzinfo=UTC)
"""14:05 in London, on British Summer Time."""


def pdf_of(story: Story, timezone: str, exported_at: datetime) -> str:
    """The text of the PDF export of ``story``'s case for a trust in ``timezone``."""
    record = story.reviews.get_case(story.case_id)
    built = build_export(
        record,
        story.reviews.case_view(story.case_id),
        None,
        school_name="Oakfield",
        exported_by="dsl.test",
        exported_by_role="dsl",
        exported_at=exported_at,
        timezone=timezone,
    )
    return pdf_text(render_pdf(built))[0]


def test_the_pdf_gives_times_in_the_trusts_time_zone_summer_and_winter(
    client: TestClient,
) -> None:
    # The demo trust is in Europe/London: November is GMT, the same hour as UTC.
    text, _ = pdf_text(export(client, a_case(client), "pdf").content)
    assert "All times are in the trust's time zone, Europe/London (GMT or BST)." in text
    assert f"Happened {T0:%d %b %Y} 09:00:00 GMT" in text
    assert "All times are UTC" not in text

    story = Story().disclosure(SUMMER).dsl("dsl.oak", SUMMER + minutes(1))
    text = pdf_of(story, "Europe/London", exported_at=T0)
    assert "Happened 01 Jul 2026 14:05:00 BST; recorded 01 Jul 2026 14:05:00 BST" in text
    assert "Disclosed 01 Jul 2026 14:05:00 BST" in text
    assert "at 24 Nov 2026 09:00:00 GMT" in text  # exported in winter: the footer says GMT
    # Another trust's zone, another clock: it is the trust's zone, not the server's or UTC.
    text = pdf_of(story, "America/New_York", exported_at=SUMMER)
    assert "All times are in the trust's time zone, America/New_York (EST or EDT)." in text
    assert "Happened 01 Jul 2026 09:05:00 EDT" in text


def test_text_outside_latin_1_never_breaks_the_pdf(client: TestClient) -> None:
    story = a_case(client)
    response = client.post(
        f"/cases/{story.case_id}/support",
        json={**SUPPORT, "detail": UNUSUAL, "given_by": "Zo\u00eb\u2019s tutor"},
        headers=bearer(client),
    )
    assert response.status_code == 201, response.text
    text, _ = pdf_text(export(client, story, "pdf").content)
    if FONT is not None:
        assert "\u0141ukasz, Zo\u00eb, \u0399\u03c9\u03ac\u03bd\u03bd\u03b1" in text
    else:
        assert "Lukasz, Zo\u00eb, [U+0399]" in text
    assert "next line" in text
    exported = export(client, story, "json").json()
    assert any(e["summary"].endswith(UNUSUAL) for e in exported["entries"])


def test_the_core_font_shows_what_it_can_and_marks_the_rest(client: TestClient) -> None:
    story = a_case(client)
    client.post(
        f"/cases/{story.case_id}/support",
        json={**SUPPORT, "detail": UNUSUAL + " " + "x" * 300},
        headers=bearer(client),
    )
    view = reviews_of(client).case_view(story.case_id)
    record = reviews_of(client).get_case(story.case_id)
    built = build_export(
        record,
        view,
        None,
        school_name="Oakfield",
        exported_by="dsl.test",
        exported_by_role="dsl",
        exported_at=T0 + minutes(60),
        timezone="Europe/London",
    )
    text, _ = pdf_text(render_pdf(built, font=None))
    assert 'It\'s "fine" - Lukasz, Zo\u00eb, [U+0399][U+03C9]' in text
    assert "the JSON export holds the text exactly" in text
    assert "[U+4E2D][U+6587] [U+1F600]" in text
    assert "[U+0007]" in text
    assert "x" * 60 in text.replace(" ", "")  # a word longer than a line is wrapped, not lost


def test_printable_replaces_only_what_a_font_lacks() -> None:
    latin1 = lambda c: ord(c) < 256  # noqa: E731
    assert printable("caf\u00e9 \u2013 it\u2019s\u2026", latin1) == "caf\u00e9 - it's..."
    assert printable("\u0141\u00f3d\u017a \u0394", latin1) == "L\u00f3dz [U+0394]"
    assert printable("a\r\nb\tc", latin1) == "a\nb    c"
    assert printable("中", lambda c: True) == "中"
    assert printable("中", lambda c: False) == "[U+4E2D]"


def test_a_broken_chain_is_said_plainly(client: TestClient) -> None:
    story = a_case(client)
    record = reviews_of(client).get_case(story.case_id)
    built = build_export(
        record,
        reviews_of(client).case_view(story.case_id),
        ChainBreak(2, "its content no longer matches its hash"),
        school_name="Oakfield",
        exported_by="auditor.trust",
        exported_by_role="auditor",
        exported_at=T0 + timedelta(days=1),
        timezone="Europe/London",
    )
    assert (built.chain.intact, built.chain.broken_at) == (False, 2)
    text, _ = pdf_text(render_pdf(built))
    assert "Hash chain BROKEN when exported, at entry 2: its content no longer matches" in text
    assert "verified intact" not in text


def test_an_overdue_transfer_is_in_the_pdf(client: TestClient) -> None:
    story = a_case(client)
    sent = client.post(
        f"/cases/{story.case_id}/transfers",
        json={
            "pseudonym": "YP-1",
            "to_school": "ELM",
            "to_whom": "Their DSL",
            "method": "hand_delivered",
            "occurred_at": T0.isoformat(),
        },
        headers=bearer(client),
    )
    assert sent.status_code == 201, sent.text
    reviews_of(client).clock = lambda: T0 + timedelta(days=10)
    text, _ = pdf_text(export(client, story, "pdf").content)
    assert "sent to ELM, for Their DSL, by hand delivery, signed for" in text
    assert "Receipt due by 2026-12-01. OVERDUE: receipt not confirmed." in text


@pytest.mark.skipif(FONT is None, reason="no Unicode font here: the core font is not subset")
def test_making_a_pdf_writes_nothing_to_the_log(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    story = a_case(client)
    caplog.set_level(logging.DEBUG)  # as SAFEGUARD_LOG_LEVEL=DEBUG would: nothing is held back
    export(client, story, "pdf")
    assert [r for r in caplog.records if r.name.startswith("fontTools")] == []


def test_who_may_export(client: TestClient) -> None:
    story = a_case(client)
    for kind in ("pdf", "json"):
        url = f"/cases/{story.case_id}/export.{kind}"
        for role in (Role.DSL, Role.HEAD, Role.AUDITOR):
            assert client.get(url, headers=bearer(client, role)).status_code == 200
        for role in (Role.STAFF, Role.TRUST_LEAD):
            assert client.get(url, headers=bearer(client, role)).status_code == 403
        assert client.get(url, headers=bearer(client, Role.DSL, ("ELM",))).status_code == 404
        nowhere = f"/cases/{Story().case_id}/export.{kind}"
        assert client.get(nowhere, headers=bearer(client)).status_code == 404
    reads = reviews_of(client).case_view(story.case_id).reads
    assert len(reads) == 6  # only the allowed exports were made, and each was recorded
