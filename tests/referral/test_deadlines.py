"""An action still outstanding past its deadline is escalated to the DSL, then to the head, each
exactly once (after a restart, and with two processes on one store), and is listed for its
school and across the trust. Time comes from the application's clock, which the tests move."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest

from services.referral.application import Referrals
from services.referral.application.pending import TRACKING_NAME
from services.referral.domain import ActionCompleted, ActionDeclined
from services.referral.domain.deadlines import HEAD_AFTER_DEADLINE
from services.referral.policy import POLICIES
from tests.conftest import StoreChoice
from tests.referral.test_delivery import (
    NOW,
    Clock,
    email_recipient,
    open_case,
    referrals,
    triage,
    trust_with,
)

IMMEDIATE = ("childrens_social_care", "police")  # due within 60 minutes of the triage


def escalated(app: Referrals, case_id: UUID) -> list[tuple[str, str]]:
    return [(e.action, e.to) for e in app.get_referral(case_id).escalations]


def decide(app: Referrals, case_id: UUID, kind: Any, **details: Any) -> None:
    app.record_entry(case_id, kind, details=details, recorded_by="dsl.oak", recorded_by_role="dsl")


def complete(app: Referrals, case_id: UUID, action: str) -> None:
    decide(
        app,
        case_id,
        ActionCompleted,
        action=action,
        how="phone",
        whom="Invented",
        their_reference="INV-1",
    )


def test_every_policy_version_has_a_head_escalation_rule() -> None:
    assert set(HEAD_AFTER_DEADLINE) == set(POLICIES)


def test_an_overdue_action_goes_to_the_dsl_then_the_head_once_each(store: StoreChoice) -> None:
    clock = Clock()
    app = referrals(store.env("referral"), trust_with(), clock)
    case_id = open_case(app, adult_involvement="yes")

    assert app.escalate_overdue(NOW + timedelta(minutes=60)) == [], "not before the deadline"
    first = app.escalate_overdue(NOW + timedelta(minutes=61))
    assert sorted((e.action, e.to) for e in first) == [(a, "dsl") for a in IMMEDIATE]
    assert first[0].due_at == NOW + timedelta(minutes=60)
    assert first[0].policy_version == "uk-2024.3"  # the demo trust's version
    assert app.escalate_overdue(NOW + timedelta(minutes=62)) == [], "once"

    restarted = referrals(store.env("referral"), trust_with(), clock)
    assert restarted.escalate_overdue(NOW + timedelta(minutes=119)) == [], "once, after restart"
    head = restarted.escalate_overdue(NOW + timedelta(minutes=121))
    assert sorted((e.action, e.to) for e in head) == [(a, "head") for a in IMMEDIATE]
    assert "to the head when still outstanding 1:00:00 after its deadline" in head[0].rule
    assert restarted.escalate_overdue(NOW + timedelta(minutes=125)) == []

    # A day later the day's actions follow; the immediate ones are not escalated again.
    later = restarted.escalate_overdue(NOW + timedelta(days=1, minutes=1))
    assert {e.to for e in later} == {"dsl"}
    assert not {e.action for e in later} & set(IMMEDIATE)
    assert escalated(restarted, case_id).count(("police", "dsl")) == 1


def test_two_processes_record_each_escalation_once(store: StoreChoice) -> None:
    """Both read the case before either saves: the second save collides on the case's
    version and records nothing."""
    clock = Clock()
    one = referrals(store.env("referral"), trust_with(), clock)
    case_id = open_case(one, adult_involvement="yes")
    clock.now = NOW + timedelta(minutes=61)
    two = referrals(store.env("referral"), trust_with(), clock)
    stale, seen = two.get_referral(case_id), two.pending.outstanding()
    two.get_referral = lambda _: stale  # type: ignore[method-assign]
    two.pending.outstanding = lambda: seen  # type: ignore[method-assign]

    read_at = stale.version
    recorded = one.escalate_overdue()
    assert two.escalate_overdue() == []
    assert stale.version == read_at + len(IMMEDIATE), "the second did try, and collided"

    assert sorted((e.action, e.to) for e in recorded) == [(a, "dsl") for a in IMMEDIATE]
    assert sorted(escalated(one, case_id)) == [(a, "dsl") for a in IMMEDIATE]


def test_overdue_actions_are_listed_per_school_and_across_the_trust() -> None:
    clock = Clock()
    app = referrals(None, trust_with(), clock)
    oak = open_case(app, "OAK", adult_involvement="yes")
    clock.now = NOW + timedelta(minutes=30)
    elm = open_case(app, "ELM", adult_involvement="yes")
    at = NOW + timedelta(minutes=95)

    assert [(a.reference, a.action) for a in app.overdue_actions("OAK", at)] == [
        ("OAK-2026-0042", "childrens_social_care"),
        ("OAK-2026-0042", "police"),
    ]
    assert {a.case_id for a in app.overdue_actions(None, at)} == {oak, elm}
    assert app.overdue_actions("ASH", at) == []

    complete(app, oak, "police")
    app.escalate_overdue(at)
    listed = {(a.case_id, a.action): a for a in app.overdue_actions(None, at)}
    assert (oak, "police") not in listed, "done is no longer overdue"
    assert listed[(elm, "police")].escalated_to == ("dsl",)
    assert listed[(elm, "police")].due_at == NOW + timedelta(minutes=90)


def test_a_reopened_action_has_a_new_deadline_and_is_escalated_afresh() -> None:
    clock = Clock()
    app = referrals(None, trust_with(), clock)
    case_id = open_case(app)
    decide(app, case_id, ActionDeclined, action="police", reason="Invented: contained")
    clock.now = NOW + timedelta(days=3)
    triage(app, case_id, 2, adult_involvement="suspected", correction_reason="Invented")
    police = app.get_referral(case_id).actions["police"]
    assert (police.status, police.due_at) == ("open", NOW + timedelta(days=3, minutes=60))
    recorded = app.escalate_overdue(NOW + timedelta(days=3, minutes=61))
    assert ("police", "dsl") in [(e.action, e.to) for e in recorded]


def test_an_escalation_to_the_head_is_a_notice_to_a_recipient_that_wants_it() -> None:
    clock = Clock()
    trust = trust_with(email_recipient(levels=["recommended"], escalations=["head"]))
    app = referrals(None, trust, clock)
    case_id = open_case(app, adult_involvement="yes")
    assert app.notices_of(case_id) == [], "not for a required action: only its escalation"
    app.escalate_overdue(NOW + timedelta(minutes=61))
    assert app.notices_of(case_id) == [], "nor for the escalation to the DSL"
    app.escalate_overdue(NOW + timedelta(minutes=121))
    (notice,) = app.notices_of(case_id)
    assert notice.content["notice"] == "action_overdue"
    assert (notice.content["urgency"], notice.content["escalated_to"]) == ("overdue", "head")
    assert notice.content["action"] == "police"


def test_a_restart_reads_the_log_only_from_the_oldest_open_matter(store: StoreChoice) -> None:
    clock = Clock()
    app = referrals(store.env("referral"), trust_with(), clock)
    settled = open_case(app)
    decide(app, settled, ActionDeclined, action="police", reason="Invented")
    decide(app, settled, ActionDeclined, action="parents_or_carers", reason="Invented")
    complete(app, settled, "senior_management")
    complete(app, settled, "dsl_record")
    settled_up_to = app.recorder.max_notification_id()
    assert settled_up_to is not None
    still_open = open_case(app, "ELM", adult_involvement="yes")
    assert {a.case_id for a in app.overdue_actions(None, NOW + timedelta(days=2))} == {still_open}
    assert (app.recorder.max_tracking_id(TRACKING_NAME) or 0) > settled_up_to

    restarted = referrals(store.env("referral"), trust_with(), clock)
    loaded: list[UUID] = []
    load = restarted.pending._load  # counting what a restart reads back
    restarted.pending._load = lambda i: loaded.append(i) or load(i)
    assert {a.case_id for a in restarted.overdue_actions(None, NOW + timedelta(days=2))} == {
        still_open
    }
    assert settled not in loaded
    assert restarted.pending.mark > settled_up_to


@pytest.mark.parametrize("minutes", [59, 60])
def test_an_action_due_now_is_not_yet_overdue(minutes: int) -> None:
    app = referrals(None, trust_with(), Clock())
    open_case(app, adult_involvement="yes")
    assert app.overdue_actions("OAK", NOW + timedelta(minutes=minutes)) == []
