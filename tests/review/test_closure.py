"""Step 8: a case closes only when nothing is left, and says everything that is left; it may be
reopened, with the reason, and is then reviewed again."""

from __future__ import annotations

from typing import Any

import pytest

from services.review.domain.containment import NOT_YET, TOLD, ParentsSpokenTo
from services.review.domain.review_and_closure import (
    ALREADY_CLOSED,
    CLOSED,
    NO_REVIEW,
    NOT_CLOSED,
    NOT_REFERRING_WITHOUT_REASONS,
    PARENTS_NOT_TOLD,
    REOPENED,
    REQUIRED_ACTION_OPEN,
    ClosureRefusedError,
    ReviewRecorded,
)
from shared.entries import NeedsReasonError
from tests.review.story import T0, Story, action, minutes

NOW = T0 + minutes(600)
DSL = {"recorded_by": "dsl.oak", "recorded_by_role": "dsl"}
REVIEW = {
    "what_worked": "Invented: the DSL was told within minutes",
    "what_did_not_work": "Invented: the site took two days to answer",
    "procedure_changes": "Invented: none",
}


def a_case_with(*actions: dict[str, Any], **assessment: Any) -> Story:
    story = Story()
    story.reviews.clock = lambda: NOW
    return story.disclosure(T0).assessed(T0 + minutes(2), *actions, **assessment)


def a_case() -> Story:
    """Experimental: the police left to the DSL, parents and senior management required."""
    return a_case_with(
        action("police", "dsl_decides"),
        action("parents_or_carers"),
        action("senior_management", declinable=False),
    )


def reviewed(story: Story) -> Story:
    story.reviews.record_step(story.case_id, ReviewRecorded.KIND, REVIEW, **DSL)
    return story


def refusals(story: Story) -> list[tuple[str, str]]:
    with pytest.raises(ClosureRefusedError) as refused:
        story.reviews.close_case(story.case_id, **DSL)
    return [(r.rule, r.action) for r in refused.value.refusals]


def close(story: Story, **kw: Any) -> Any:
    return story.reviews.close_case(story.case_id, **DSL, **kw)


def test_every_reason_is_listed_together() -> None:
    story = a_case()
    assert refusals(story) == [
        (REQUIRED_ACTION_OPEN, "senior_management"),
        (PARENTS_NOT_TOLD, "parents_or_carers"),
        (NOT_REFERRING_WITHOUT_REASONS, "police"),
        (NO_REVIEW, ""),
    ]
    # Nothing was recorded by the refusal.
    assert story.reviews.case_view(story.case_id).status == "open"


def test_a_required_action_still_open_alone() -> None:
    story = reviewed(a_case())
    story.done("police", T0 + minutes(10)).declined("parents_or_carers", T0 + minutes(11))
    assert refusals(story) == [(REQUIRED_ACTION_OPEN, "senior_management")]


def test_parents_neither_told_nor_recorded_as_not_told_alone() -> None:
    story = reviewed(a_case())
    story.done("police", T0 + minutes(10)).done("senior_management", T0 + minutes(11))
    assert refusals(story) == [(PARENTS_NOT_TOLD, "parents_or_carers")]
    # A conversation recorded in review does not stand in for referral's open action.
    story.reviews.record_step(
        story.case_id,
        ParentsSpokenTo.KIND,
        {"pseudonym": "YP-1", "with_whom": "mother", "how": "phone", "what_was_said": "x"},
        **DSL,
    )
    assert refusals(story) == [(PARENTS_NOT_TOLD, "parents_or_carers")]
    story.declined("parents_or_carers", T0 + minutes(12), reason="Invented: risk at home")
    _, _, created = close(story)
    assert created


def test_not_referring_to_the_police_without_written_reasons_alone() -> None:
    story = reviewed(a_case())
    story.done("parents_or_carers", T0 + minutes(10)).done("senior_management", T0 + minutes(11))
    assert refusals(story) == [(NOT_REFERRING_WITHOUT_REASONS, "police")]
    story.declined("police", T0 + minutes(12), reason="Invented: experimental, romantic, low risk")
    assert close(story)[2]


def test_a_recommended_police_referral_is_the_dsls_decision_too() -> None:
    story = a_case_with(
        action("police", "recommended"),
        action("parents_or_carers"),
        classification="aggravated",
        subtype="youth_reckless_misuse",
    )
    reviewed(story).done("parents_or_carers", T0 + minutes(10))
    assert refusals(story) == [(NOT_REFERRING_WITHOUT_REASONS, "police")]


def test_no_review_recorded_alone() -> None:
    story = a_case()
    story.done("police", T0 + minutes(10))
    story.done("parents_or_carers", T0 + minutes(11))
    story.done("senior_management", T0 + minutes(12))
    assert refusals(story) == [(NO_REVIEW, "")]


def test_a_required_police_referral_left_open_is_a_required_action() -> None:
    story = a_case_with(
        action("police", "required", 60, declinable=False),
        action("parents_or_carers"),
        classification="aggravated",
        subtype="adult_involved",
    )
    reviewed(story).declined("parents_or_carers", T0 + minutes(3))
    assert refusals(story) == [(REQUIRED_ACTION_OPEN, "police")]


def test_closing_once_all_is_done_then_reopening_with_a_reason() -> None:
    story = reviewed(a_case())
    story.done("police", T0 + minutes(10))
    story.declined("parents_or_carers", T0 + minutes(11))
    story.done("senior_management", T0 + minutes(12))
    entry, _, created = close(story, note="Invented: all done")
    assert (created, entry.kind, entry.summary) == (
        True,
        "case_closed",
        "Case closed: Invented: all done",
    )
    view = story.reviews.case_view(story.case_id)
    assert view.status == CLOSED
    assert refusals(story) == [(ALREADY_CLOSED, "")]

    with pytest.raises(NeedsReasonError):
        story.reviews.reopen_case(story.case_id, reason="  ", **DSL)
    entry, _, _ = story.reviews.reopen_case(
        story.case_id, reason="Invented: the image resurfaced", **DSL
    )
    assert entry.summary == "Case reopened: Invented: the image resurfaced"
    view = story.reviews.case_view(story.case_id)
    assert view.status == REOPENED
    assert [c.kind for c in view.closures] == ["case_closed", "case_reopened"]
    assert [e.reason for e in view.entries if e.kind == "case_reopened"] == [
        "Invented: the image resurfaced"
    ]
    # Reopened: the earlier review does not count; the case is reviewed again.
    assert refusals(story) == [(NO_REVIEW, "")]
    reviewed(story)
    assert close(story)[2]
    assert story.reviews.case_view(story.case_id).status == CLOSED


def test_only_a_closed_case_is_reopened() -> None:
    story = a_case()
    with pytest.raises(ClosureRefusedError) as refused:
        story.reviews.reopen_case(story.case_id, reason="Invented", **DSL)
    assert [r.rule for r in refused.value.refusals] == [NOT_CLOSED]


def test_parents_told_at_step_7_count_when_referral_asks_nothing_of_them() -> None:
    story = a_case_with(policy_version="uk-2024.1")
    assert story.reviews.case_view(story.case_id).parents.status == NOT_YET
    story.reviews.record_step(
        story.case_id,
        ParentsSpokenTo.KIND,
        {"pseudonym": "YP-1", "with_whom": "father", "how": "in_person", "what_was_said": "x"},
        **DSL,
    )
    parents = story.reviews.case_view(story.case_id).parents
    assert (parents.status, parents.source, parents.whom) == (TOLD, "review", "father")
    assert refusals(story) == [(NO_REVIEW, "")]
