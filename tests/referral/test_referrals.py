"""Referral applies intake's facts: an assessment for the disclosure and for each triage."""

from __future__ import annotations

import json
from pathlib import Path

from eventsourcing.persistence import Tracking

from services.referral.application import Referrals
from services.review.application import Reviews
from shared.contracts.intake import TriageRecordedV1
from tests.helpers import incident_reported

GOLDEN_TRIAGE = json.loads(
    (
        Path(__file__).parent.parent / "contracts" / "golden" / "intake.triage.recorded.v1.json"
    ).read_text()
)


def triage_for(case_id: object, **changes: object) -> TriageRecordedV1:
    return TriageRecordedV1.model_validate({**GOLDEN_TRIAGE, "case_id": case_id, **changes})


def test_each_triage_entry_is_assessed_with_what_is_known_then() -> None:
    app = Referrals()
    disclosure = incident_reported()
    case_id = disclosure.case_id  # type: ignore[attr-defined]
    app.process_event(disclosure, Tracking("intake", 1))
    app.process_event(
        triage_for(case_id, entry_number=1, adult_involvement="unknown"), Tracking("intake", 2)
    )
    app.process_event(triage_for(case_id, entry_number=2), Tracking("intake", 3))
    events = [e for e in app.repository.event_store.get(case_id) if hasattr(e, "missing_facts")]
    assert [e.number for e in events] == [1, 2, 3]
    assert [e.caused_by for e in events] == ["intake:1", "intake:2", "intake:3"]
    assert "adult_involvement" in events[1].missing_facts
    assert "adult_involvement" not in events[2].missing_facts
    assert "coercion_blackmail_or_grooming" in events[2].missing_facts  # answered "unknown"
    assert "pictured_under_13" not in events[2].missing_facts


def test_review_shows_a_correction_as_such() -> None:
    app = Reviews()
    disclosure = incident_reported()
    case_id = disclosure.case_id  # type: ignore[attr-defined]
    app.process_event(disclosure, Tracking("intake", 1))
    app.process_event(triage_for(case_id, entry_number=1), Tracking("intake", 2))
    app.process_event(triage_for(case_id, entry_number=2), Tracking("intake", 3))
    kinds = [e.kind for e in app.get_case(case_id).entries]
    assert kinds == ["disclosure_recorded", "triage_recorded", "triage_corrected"]
    assert "small group" in app.get_case(case_id).entries[2].summary
