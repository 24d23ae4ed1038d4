"""Until issue 13 the referral and every kind of entry were classes of
``services.referral.domain``: an event stored then names its class by that old topic, and must
load as the class that now holds it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from services.referral import domain
from services.referral.application import Referrals
from services.referral.domain import ENTRY_KINDS, Referral
from shared.topics import topics_of
from tests.conftest import StoreChoice
from tests.referral.test_referrals import ROMANTIC, CaseApp, new_case

OLD = "services.referral.domain:Referral"
NEW = "services.referral.domain.referral:Referral"
NOW = datetime(2026, 11, 24, 11, 0, tzinfo=UTC)
STORED: dict[type[Any], dict[str, Any]] = {
    domain.RiskAssessed: {"factors": ROMANTIC, "conclusion": "low", "reasons": "Invented"},
    domain.ClassificationOverridden: {
        "classification": "aggravated",
        "subtype": "youth_intent_to_harm",
        "reason": "Invented",
    },
    domain.SafeguardRecorded: {"pseudonym": "YP-2", "kind": "support", "detail": "Invented"},
    domain.ActionCompleted: {
        "action": "parents_or_carers",
        "how": "phone",
        "whom": "Invented parent",
        "their_reference": "",
    },
    domain.ActionDeclined: {"action": "police", "reason": "Invented: experimental"},
    domain.PoliceOutcomeRecorded: {
        "code": "21",
        "outcome_date": "2026-12-01",
        "police_reference": "INV-1",
        "note": "",
    },
}


def store_under_old_topic(app: CaseApp, kind: type[Any], facts: dict[str, Any]) -> None:
    """An entry written as the code before issue 13 wrote it: under ``Referral.<Kind>``."""
    version = app.case.version + 1
    state = {
        "school": "OAK",
        "reference": app.case.reference,
        "recorded_by": "dsl.oak",
        "recorded_by_role": "dsl",
        "occurred_at": NOW,
        "recorded_at": NOW,
        "idempotency_key": f"dsl.oak:{kind.__name__}",
        **facts,
        "originator_id": app.case_id,
        "originator_version": version,
        "timestamp": NOW,
    }
    app.recorder.insert_events(
        [
            StoredEvent(
                originator_id=app.case_id,
                originator_version=version,
                topic=f"{OLD}.{kind.__name__}",
                state=app.mapper.transcoder.encode(state),
            )
        ]
    )


def test_every_kind_stored_before_issue_13_is_declared_in_its_step_under_both_topics() -> None:
    assert set(STORED) <= set(ENTRY_KINDS)
    assert {kind.__name__: kind.STEP for kind in STORED} == {
        "ClassificationOverridden": 5,
        "RiskAssessed": 5,
        "SafeguardRecorded": 5,
        "ActionCompleted": 6,
        "ActionDeclined": 6,
        "PoliceOutcomeRecorded": 6,
    }
    for kind in ENTRY_KINDS:
        old = (f"{OLD}.{kind.__name__}",) if kind in STORED else ()
        assert topics_of(kind) == (get_topic(kind), *old)


@pytest.mark.parametrize("kind", list(STORED), ids=lambda kind: kind.__name__)
def test_an_entry_stored_under_its_old_topic_loads(store: StoreChoice, kind: type[Any]) -> None:
    app = new_case(store.env("referral"))
    app.triage(1)
    store_under_old_topic(app, kind, STORED[kind])
    case = app.get_referral(app.case_id)  # a fresh read of the stored events
    entry = getattr(case, kind.KEPT_IN)[-1]
    assert type(entry) is kind
    assert {name: getattr(entry, name) for name in STORED[kind]} == STORED[kind]
    assert case.entry_keys[f"dsl.oak:{kind.__name__}"] is entry


def test_a_case_opened_assessed_and_escalated_under_the_old_topics_loads(
    store: StoreChoice,
) -> None:
    """The referral itself, its opening, each assessment and each escalation were
    ``Referral…`` of the old module too: a case stored then reads back whole."""
    app = new_case(store.env("referral"))
    app.triage(1)
    assert app.escalate_overdue(NOW + timedelta(days=30))
    now_stored = list(app.recorder.select_events(app.case_id))
    assert {e.topic for e in now_stored} == {
        get_topic(cls)
        for cls in (Referral.Opened, Referral.AssessmentRecorded, Referral.ActionEscalated)
    }
    transcoder = app.mapper.transcoder
    before_issue_13 = Referrals(store.env("referral_before_issue_13"))
    before_issue_13.recorder.insert_events(
        [
            StoredEvent(
                originator_id=e.originator_id,
                originator_version=e.originator_version,
                topic=e.topic.replace(NEW, OLD),
                state=transcoder.encode(
                    {
                        k: v.replace(NEW, OLD) if k == "originator_topic" else v
                        for k, v in transcoder.decode(e.state).items()
                    }
                ),
            )
            for e in now_stored
        ]
    )
    assert {e.topic for e in before_issue_13.recorder.select_events(app.case_id)} == {
        f"{OLD}.Opened",
        f"{OLD}.AssessmentRecorded",
        f"{OLD}.ActionEscalated",
    }
    loaded = before_issue_13.get_referral(app.case_id)
    assert type(loaded) is Referral
    assert [a.number for a in loaded.assessments] == [1, 2]
    assert loaded.escalations
    assert loaded.actions == app.get_referral(app.case_id).actions
