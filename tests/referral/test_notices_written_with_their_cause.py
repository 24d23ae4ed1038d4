"""A notice is written in the same transaction as the event that calls for it, on both paths
that write a case: intake's facts applied (``process_event``, through ``policy``) and the DSL's
entry or an escalation saved (``save``). So a write that fails leaves neither behind, and what
was written is there, notice and cause together, after the application restarts on its store.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import IntegrityError, Tracking

from services.referral.application import Referrals
from services.referral.domain import Referral, RiskAssessed, outcome_of
from services.referral.domain.notices import Notice
from shared.contracts.intake import TriageRecordedV1
from tests.conftest import StoreChoice
from tests.referral.test_delivery import (
    CLEAR,
    NOW,
    TRIAGE,
    Clock,
    email_recipient,
    open_case,
    trust_with,
)
from tests.referral.test_referrals import ROMANTIC

TRUST = trust_with(
    email_recipient(actions=["police", "childrens_social_care"], escalations=["dsl", "head"])
)


def referrals(store: StoreChoice, clock: Clock) -> Referrals:
    return Referrals(store.env("referral"), clock=clock, trust=TRUST)


def causes(app: Referrals, case_id: UUID) -> list[tuple[str, str]]:
    return [(n.action, n.cause) for n in app.notices_of(case_id)]


def caused_by(referral: Referral, notice: Notice) -> Any:
    """The stored event a notice's cause names: an assessment by its number, an escalation by
    the case's version."""
    kind, _, number = notice.cause.partition(":")
    if kind == "assessment":
        return next(a for a in referral.assessments if a.number == int(number))
    return next(e for e in referral.escalations if e.originator_version == int(number))


def test_a_notice_is_written_with_the_assessment_that_calls_for_it_or_not_at_all(
    store: StoreChoice,
) -> None:
    clock = Clock()
    first, second = referrals(store, clock), referrals(store, clock)
    case_id = open_case(first)
    assert causes(first, case_id) == []  # nothing required of the police yet
    adult = TriageRecordedV1.model_validate(
        {**TRIAGE, **CLEAR, "case_id": case_id, "entry_number": 2, "adult_involvement": "yes"}
    )
    position = (first.recorder.max_tracking_id("intake") or 0) + 1
    first.process_event(adult, Tracking("intake", position))  # type: ignore[arg-type]
    written = causes(first, case_id)
    assert ("police", "assessment:4") in written
    # Another process applying the same message again: its assessment and its notice are one
    # write, refused whole, so no second notice is left without an assessment.
    with pytest.raises(IntegrityError):
        second.process_event(adult, Tracking("intake", position))  # type: ignore[arg-type]
    assert causes(second, case_id) == written
    assert len(second.get_referral(case_id).assessments) == 4


def test_a_notice_is_written_with_the_dsl_entry_or_escalation_that_calls_for_it(
    store: StoreChoice,
) -> None:
    clock = Clock()
    app = referrals(store, clock)
    case_id = open_case(app)
    before = causes(app, case_id)
    # The DSL's high risk reassesses the case: children's social care is newly required.
    app.record_entry(
        case_id,
        RiskAssessed,
        details={"factors": ROMANTIC, "conclusion": "high", "reasons": "Invented"},
        recorded_by="dsl.oak",
        recorded_by_role="dsl",
    )
    assert causes(app, case_id) == [*before, ("childrens_social_care", "assessment:4")]
    # An escalation saved by a process whose case went stale is refused with its notices.
    later = NOW + timedelta(days=30)
    stale = app.get_referral(case_id)
    stale.escalate_overdue(later)
    assert app.escalate_overdue(later)
    written = causes(app, case_id)
    assert [c for _, c in written if c.startswith("escalation:")]
    with pytest.raises(IntegrityError):
        app.save(stale)
    assert causes(app, case_id) == written


def test_what_was_written_is_there_after_a_restart(store: StoreChoice) -> None:
    clock = Clock()
    app = referrals(store, clock)
    case_id = open_case(app, adult_involvement="yes")
    app.escalate_overdue(NOW + timedelta(days=30))
    written = causes(app, case_id)
    due = app.notices_due(NOW + timedelta(days=30))
    app.close()

    restarted = referrals(store, clock)
    assert causes(restarted, case_id) == written
    assert any(c.startswith("assessment:") for _, c in written)
    assert any(c.startswith("escalation:") for _, c in written)
    referral = restarted.get_referral(case_id)
    for notice in restarted.notices_of(case_id):
        cause = caused_by(referral, notice)
        if isinstance(cause, Referral.ActionEscalated):
            assert cause.action == notice.action
        else:
            required = [a.action for a in outcome_of(cause.outcome).actions]
            assert notice.action in required
    # The restarted process finds them still to send, from its store alone.
    assert restarted.notices_due(NOW + timedelta(days=30)) == due
