"""The chronology's words, kept: every kind of entry review shows, in each of the ways it can be
worded, compared line by line with ``golden_words.json``. A DSL or an auditor reads these
lines; a change of wording must be meant, and made here too.

Regenerate the file (only for a change of words that is meant) with
``python -m tests.review.test_golden_words``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from services.review.application import Reviews
from services.review.domain.case_view import OWN_KINDS
from services.review.domain.chronology import describe
from tests.review.every_entry import CASE_ID, record_own, tell_upstream
from tests.review.story import golden

GOLDEN_WORDS = Path(__file__).with_name("golden_words.json")


def chronology_lines() -> list[dict[str, Any]]:
    """Each line of the invented case's chronology: its number, kind, words, and actor."""
    reviews = Reviews()
    tell_upstream(reviews)
    record_own(reviews)
    return [
        {
            "number": e.number,
            "kind": e.kind,
            "summary": e.summary,
            "actor": e.actor,
            "actor_role": e.actor_role,
        }
        for e in reviews.get_case(CASE_ID).chronology()
    ]


def test_every_line_of_the_chronology_reads_as_it_did() -> None:
    expected = json.loads(GOLDEN_WORDS.read_text())
    lines = chronology_lines()
    assert len(lines) == len(expected)
    for line, kept in zip(lines, expected, strict=True):
        assert line == kept


def test_the_golden_case_has_every_kind_of_entry() -> None:
    kinds = {line["kind"] for line in json.loads(GOLDEN_WORDS.read_text())}
    assert set(OWN_KINDS) <= kinds
    for sample in sorted((Path(__file__).parents[1] / "contracts" / "golden").glob("*.json")):
        subject = sample.stem
        described = describe(golden(subject))
        if described is not None:
            assert described.kind in kinds, subject


if __name__ == "__main__":
    GOLDEN_WORDS.write_text(json.dumps(chronology_lines(), indent=2, ensure_ascii=False) + "\n")
