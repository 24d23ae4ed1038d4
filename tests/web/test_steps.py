"""The task list's states, and the words the pages give each code, on invented answers."""

from __future__ import annotations

from typing import Any

import pytest

from services.intake.domain.triage import TRIAGE_ANSWERS
from services.review.domain.chronology import WORDS
from services.review.domain.containment import CONTAINMENT
from services.review.domain.review_and_closure import CaseClosed, CaseReopened, ReviewRecorded
from services.web.pages.triage import QUESTIONS
from services.web.steps import (
    CANNOT_START,
    COMPLETED,
    IN_PROGRESS,
    NOT_NEEDED,
    NOT_STARTED,
    corrections,
    step_of,
    task_list,
)


def test_every_triage_question_has_its_words() -> None:
    assert set(QUESTIONS) == set(TRIAGE_ANSWERS)


KINDS = sorted(
    {w.kind for w in WORDS.values() if "{" not in w.kind}
    | {k.KIND for k in (*CONTAINMENT, ReviewRecorded, CaseClosed, CaseReopened)}
    | {"young_person_recorded", "young_person_corrected", "dsl_informed", "network_blocked"}
)


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_of_entry_belongs_to_a_step(kind: str) -> None:
    assert 1 <= step_of(kind) <= 8


def test_a_read_belongs_to_no_step() -> None:
    assert step_of("case_read") == 0


def entry(kind: str) -> dict[str, Any]:
    return {"kind": kind, "summary": "", "number": 1}


def states(review: dict[str, Any], triage: list[dict[str, Any]]) -> dict[int, str]:
    return {s.number: s.status for s in task_list(review, None, triage)}


def test_a_new_case_waits_for_its_triage() -> None:
    shown = states({"entries": [entry("disclosure_recorded")], "dsl": "", "actions": []}, [])
    assert shown[1] == IN_PROGRESS
    assert shown[4] == NOT_STARTED
    assert shown[5] == CANNOT_START
    assert shown[6] == CANNOT_START


def test_actions_open_keep_the_review_from_starting_and_closure_completes_it() -> None:
    triage = [{"answers": {"device_in_possession": "no"}}]
    open_action = {"action": "police", "status": "open"}
    review: dict[str, Any] = {
        "entries": [entry("disclosure_recorded"), entry("risk_assessed")],
        "dsl": "dsl.one",
        "actions": [open_action],
        "status": "open",
    }
    shown = states(review, triage)
    assert shown[1] == COMPLETED
    assert shown[2] == NOT_NEEDED
    assert shown[4] == COMPLETED
    assert shown[5] == COMPLETED
    assert shown[6] == IN_PROGRESS
    assert shown[8] == CANNOT_START
    review["actions"] = [{**open_action, "status": "done"}]
    review["status"] = "closed"
    shown = states(review, triage)
    assert shown[6] == COMPLETED
    assert shown[8] == COMPLETED


def test_only_a_correction_is_shown_as_correcting() -> None:
    def e(number: int, kind: str, summary: str = "", reason: str = "") -> dict[str, Any]:
        return {"number": number, "kind": kind, "summary": summary, "reason": reason}

    entries = [
        e(1, "young_person_recorded", "YP-1 (Year 9): pictured"),
        e(2, "young_person_recorded", "YP-2 (Year 9): sender"),
        e(3, "triage_recorded"),
        e(4, "action_declined", reason="Invented reason"),
        e(5, "action_declined", reason="Another invented reason"),
        e(6, "young_person_corrected", "YP-1 (Year 10): pictured", "Invented: year"),
        e(7, "triage_corrected", reason="Invented: new facts"),
        e(8, "triage_corrected", reason="Invented: newer facts"),
    ]
    assert corrections(entries) == {6: 1, 7: 3, 8: 7}
