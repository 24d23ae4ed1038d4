"""A case's view is a fold of its entries: as it stands, and as it stood at any moment, with
exactly what was on record then."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta

from services.review.application import Reviews
from services.review.domain.case_view import CaseView, _contract, case_view
from services.review.domain.containment import NOT_TOLD
from services.review.domain.review_and_closure import OPEN_CASE
from shared.actions import DECLINED, DONE, NO_LONGER_REQUIRED, OPEN
from tests.conftest import StoreChoice
from tests.review.story import A_DAY, T0, Story, action, minutes

POLICE_DSL = action("police", "dsl_decides")
POLICE_REQUIRED = action("police", "required", 60, declinable=False)
PARENTS = action("parents_or_carers")
SENIOR = action("senior_management", declinable=False)
SITE = action("hosting_site")


def told_in_full() -> Story:
    """One case, entry by entry, each recorded at a chosen time (see the comments)."""
    story = Story()
    # 09:00 disclosed, recorded 09:01.
    story.disclosure(T0, recorded_at=T0 + minutes(1))
    # 09:02 first assessment: experimental, the police left to the DSL.
    story.assessed(T0 + minutes(2), POLICE_DSL, PARENTS, SENIOR, SITE)
    # 09:30 the DSL takes the case.
    story.dsl("dsl.oak", T0 + minutes(30))
    # 10:00 new facts: an adult may be involved; the police referral is now required in 60 min.
    story.assessed(
        T0 + minutes(60),
        POLICE_REQUIRED,
        PARENTS,
        SENIOR,
        SITE,
        classification="aggravated",
        subtype="adult_involved",
    )
    # 10:30 referred; 11:00 parents not told, with the reason.
    story.done("police", T0 + minutes(90))
    story.declined(
        "parents_or_carers", T0 + minutes(120), reason="Invented: it would put YP-1 at risk"
    )
    # 12:00 the DSL classifies it otherwise.
    story.overridden(T0 + minutes(180), "aggravated", "youth_intent_to_harm")
    # 13:00 the image turns out not to be on a site: that action is no longer asked for.
    story.assessed(
        T0 + minutes(240),
        POLICE_REQUIRED,
        PARENTS,
        SENIOR,
        classification="aggravated",
        subtype="adult_involved",
    )
    return story


def view_at(story: Story, as_of: datetime) -> CaseView:
    return case_view(story.reviews.get_case(story.case_id), now=as_of, as_of=as_of)


def test_before_anything_was_recorded_the_case_is_empty() -> None:
    story = told_in_full()
    view = view_at(story, T0 + minutes(0.5))
    assert (view.entries, view.opened_at, view.actions, view.dsl) == ([], None, {}, "")
    assert view.review_date is None


def test_once_disclosed_the_case_is_open_with_its_review_date() -> None:
    view = view_at(told_in_full(), T0 + minutes(1))
    assert [e.kind for e in view.entries] == ["disclosure_recorded"]
    assert (view.status, view.disclosure_route, view.opened_at) == (OPEN_CASE, "young_person", T0)
    assert view.classification == "undetermined"
    # No assessment yet: the disclosure's date plus the default review cycle.
    assert view.review_date == date(2027, 1, 5)


def test_after_the_first_assessment_every_action_is_open_from_its_time() -> None:
    view = view_at(told_in_full(), T0 + minutes(10))
    assert (view.classification, view.subtype, view.policy_version) == (
        "experimental",
        "romantic",
        "uk-2024.2",
    )
    police = view.actions["police"]
    assert (police.level, police.status) == ("dsl_decides", OPEN)
    assert police.required_since == T0 + minutes(2)
    assert police.due_at == T0 + minutes(2 + A_DAY)
    assert [a.action for a in view.open_actions] == [
        "police",
        "parents_or_carers",
        "senior_management",
        "hosting_site",
    ]
    assert view.overdue_actions == []
    assert view.dsl == ""  # taken at 09:30, not yet on record


def test_a_changed_level_reopens_the_action_from_the_new_assessment() -> None:
    story = told_in_full()
    view = view_at(story, T0 + minutes(61))
    police = view.actions["police"]
    assert (police.level, police.status, police.declinable) == ("required", OPEN, False)
    assert (police.required_since, police.due_at) == (T0 + minutes(60), T0 + minutes(120))
    # Unchanged actions keep their first deadline.
    assert view.actions["senior_management"].due_at == T0 + minutes(2 + A_DAY)
    assert view.dsl == "dsl.oak"
    assert (view.classification, view.subtype) == ("aggravated", "adult_involved")
    # At 10:59 the police referral is not yet overdue; at 11:01, had it not been made, it
    # would be, but it was made at 10:30.
    assert view_at(story, T0 + minutes(119)).overdue_actions == []
    assert [a.action for a in view_at(story, T0 + minutes(121)).overdue_actions] == []
    assert view_at(story, T0 + minutes(121)).actions["police"].status == DONE


def test_decisions_and_the_override_as_they_stood() -> None:
    story = told_in_full()
    at_1130 = view_at(story, T0 + minutes(150))
    assert at_1130.actions["police"].decision["their_reference"] == "INV-INC-2026-0077"
    parents = at_1130.actions["parents_or_carers"]
    assert (parents.status, parents.decision["reason"]) == (
        DECLINED,
        "Invented: it would put YP-1 at risk",
    )
    assert at_1130.parents.status == NOT_TOLD
    assert at_1130.classification == "aggravated"
    assert at_1130.subtype == "adult_involved"

    at_1230 = view_at(story, T0 + minutes(210))
    assert (at_1230.classification, at_1230.subtype) == ("aggravated", "youth_intent_to_harm")
    assert (at_1230.computed_classification, at_1230.computed_subtype) == (
        "aggravated",
        "adult_involved",
    )
    overridden = next(e for e in at_1230.entries if e.kind == "classification_overridden")
    assert overridden.reason == "Invented: threats were made in the group chat"


def test_as_it_stands_the_override_stays_and_dropped_actions_are_no_longer_required() -> None:
    story = told_in_full()
    view = story.reviews.case_view(story.case_id)
    assert view.classification == "aggravated"
    assert view.subtype == "youth_intent_to_harm"  # the DSL's, over a later assessment
    assert view.actions["hosting_site"].level == NO_LONGER_REQUIRED
    assert "hosting_site" not in [a.action for a in view.open_actions]
    assessments = [e for e in view.entries if e.kind == "assessment_recorded"]
    assert [e.policy_version for e in assessments] == ["uk-2024.2"] * 3
    assert [e.kind for e in view.entries][:3] == [
        "disclosure_recorded",
        "assessment_recorded",
        "dsl_assigned",
    ]


def test_a_declined_action_the_policy_no_longer_lets_be_declined_is_open_again() -> None:
    story = Story().disclosure().assessed(T0 + minutes(2), POLICE_DSL, PARENTS)
    story.declined("police", T0 + minutes(10), reason="Invented: experimental")
    story.assessed(T0 + minutes(60), POLICE_REQUIRED, PARENTS, classification="aggravated")
    police = view_at(story, T0 + minutes(61)).actions["police"]
    assert (police.status, police.level, police.decision) == (OPEN, "required", {})
    assert (police.required_since, police.due_at) == (T0 + minutes(60), T0 + minutes(120))
    assert police.history == [
        "declined (Invented: experimental), reopened: invented: police required"
    ]
    declined = view_at(story, T0 + minutes(30)).actions["police"]
    assert (declined.status, declined.decision["recorded_by"]) == (DECLINED, "dsl.oak")


def test_the_actions_are_as_referral_published_them_not_worked_out_again() -> None:
    story = Story().disclosure()
    # Referral's rules are its own: whatever it says an action stands at, the view shows.
    story.publish(
        "referral.assessment.recorded.v1",
        T0 + minutes(2),
        actions=[POLICE_DSL],
        actions_after=[
            {
                "action": "police",
                "level": "required",
                "why": "invented: as referral decided it",
                "declinable": False,
                "status": "open",
                "required_since": T0.isoformat(),
                "due_at": (T0 + minutes(5)).isoformat(),
                "policy_version": "uk-2024.2",
            }
        ],
    )
    police = view_at(story, T0 + minutes(3)).actions["police"]
    assert (police.level, police.why, police.declinable) == (
        "required",
        "invented: as referral decided it",
        False,
    )
    assert (police.required_since, police.due_at) == (T0, T0 + minutes(5))


def test_overdue_is_judged_at_the_moment_asked() -> None:
    story = told_in_full()
    record = story.reviews.get_case(story.case_id)
    due = T0 + minutes(2 + A_DAY)
    before = case_view(record, now=due - minutes(1))
    after = case_view(record, now=due + minutes(1))
    assert before.overdue_actions == []
    assert [a.action for a in after.overdue_actions] == ["senior_management"]


def test_a_view_as_of_a_moment_is_the_view_of_a_record_that_knew_only_that_much() -> None:
    full = told_in_full()
    # A second review that received only the first five messages.
    partial = Story(case_id=full.case_id)
    partial.disclosure(T0, recorded_at=T0 + minutes(1))
    partial.assessed(T0 + minutes(2), POLICE_DSL, PARENTS, SENIOR, SITE)
    partial.dsl("dsl.oak", T0 + minutes(30))
    partial.assessed(
        T0 + minutes(60),
        POLICE_REQUIRED,
        PARENTS,
        SENIOR,
        SITE,
        classification="aggravated",
        subtype="adult_involved",
    )
    partial.done("police", T0 + minutes(90))
    moment = T0 + minutes(100)
    then = view_at(full, moment)
    known = view_at(partial, moment)
    assert [vars(e) for e in then.entries] == [vars(e) for e in known.entries]
    assert then.actions == known.actions
    assert (then.classification, then.dsl, then.version) == (
        known.classification,
        known.dsl,
        known.version,
    )


def test_the_review_date_follows_the_first_assessments_policy_version() -> None:
    story = Story().disclosure(T0)
    story.assessed(T0 + minutes(2), PARENTS, policy_version="uk-2024.1")
    story.assessed(T0 + minutes(3), PARENTS, policy_version="uk-2099.9")
    view = story.reviews.case_view(story.case_id)
    assert view.review_after_days == 42
    assert view.review_date == date(2027, 1, 5)
    assert view.policy_version == "uk-2099.9"


def test_the_review_is_overdue_after_its_date_until_reviewed_or_closed() -> None:
    story = Story().disclosure(T0).assessed(T0 + minutes(2), PARENTS)
    record = story.reviews.get_case(story.case_id)
    assert not case_view(record, now=T0 + timedelta(days=42)).review_overdue
    assert case_view(record, now=T0 + timedelta(days=43)).review_overdue
    story.reviews.clock = lambda: T0 + timedelta(days=43)
    story.reviews.record_step(
        story.case_id,
        "review_recorded",
        {"what_worked": "a", "what_did_not_work": "b", "procedure_changes": "c"},
        recorded_by="dsl.oak",
        recorded_by_role="dsl",
    )
    assert not story.reviews.case_view(story.case_id).review_overdue


def test_a_case_of_200_entries_folds_in_a_few_milliseconds() -> None:
    story = Story().disclosure(T0).assessed(T0 + minutes(1), POLICE_DSL, PARENTS, SENIOR)
    for n in range(198):
        story.dsl(f"dsl.{n}", T0 + minutes(2 + n))
    record = story.reviews.get_case(story.case_id)
    assert len(record.entries) == 200
    _contract.cache_clear()
    start = time.perf_counter()
    cold = case_view(record, now=T0)
    cold_seconds = time.perf_counter() - start
    start = time.perf_counter()
    case_view(record, now=T0, as_of=T0 + minutes(100))
    warm_seconds = time.perf_counter() - start
    assert cold.dsl == "dsl.197"
    # A few milliseconds on a laptop; the bound leaves room for a slow CI machine.
    assert cold_seconds < 0.05, cold_seconds
    assert warm_seconds < 0.05, warm_seconds


def test_a_school_lists_only_its_own_cases_from_its_index(store: StoreChoice) -> None:
    env = store.env("review")
    reviews = Reviews(env)
    oak_1 = Story(reviews).disclosure(T0)
    elm = Story(reviews, school="ELM", reference="ELM-2026-0001").disclosure(T0 + minutes(1))
    oak_2 = Story(reviews, reference="OAK-2026-0008")
    # Referral's message can reach review before intake's: the case is indexed all the same.
    oak_2.assessed(T0 + minutes(2), PARENTS)
    oak_2.disclosure(T0 + minutes(1))
    reviews.close()

    reopened = Reviews(env)
    assert reopened.school_case_ids("OAK") == [oak_1.case_id, oak_2.case_id]
    assert reopened.school_case_ids("ELM") == [elm.case_id]
    assert reopened.school_case_ids("ASH") == []
    assert reopened.schools() == ["ELM", "OAK"]
    assert [v.reference for v in reopened.school_cases("OAK")] == [
        "OAK-2026-0007",
        "OAK-2026-0008",
    ]
    # The index is one more aggregate: the case list of every case is unchanged.
    assert list(reopened.case_ids()) == [oak_1.case_id, elm.case_id, oak_2.case_id]
    reopened.close()


def test_overdue_actions_across_schools_move_with_the_clock() -> None:
    now = [T0]
    reviews = Reviews(clock=lambda: now[0])
    oak = Story(reviews).disclosure(T0).assessed(T0, action("police", "required", 60))
    elm = Story(reviews, school="ELM", reference="ELM-2026-0001").disclosure(T0)
    elm.assessed(T0, action("parents_or_carers", "required", 120))
    assert reviews.overdue(["OAK", "ELM"]) == []
    now[0] = T0 + minutes(61)
    assert [(v.reference, a.action) for v, a in reviews.overdue(["OAK", "ELM"])] == [
        ("OAK-2026-0007", "police")
    ]
    now[0] = T0 + minutes(121)
    assert [(v.reference, a.action) for v, a in reviews.overdue(["OAK", "ELM"])] == [
        ("OAK-2026-0007", "police"),
        ("ELM-2026-0001", "parents_or_carers"),
    ]
    assert [v.school for v, _ in reviews.overdue(["ELM"])] == ["ELM"]
    oak.done("police", T0 + minutes(130))
    now[0] = T0 + minutes(131)
    assert [v.school for v, _ in reviews.overdue(["OAK", "ELM"])] == ["ELM"]
