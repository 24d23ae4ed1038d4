"""Steps 5-6 in review's chronology: referral's published decisions, from their golden samples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import Tracking

from services.review.application import Reviews
from services.review.domain import CaseRecord
from shared.contracts import decode

GOLDEN = Path(__file__).parents[1] / "contracts" / "golden"


def golden(subject: str, **changes: Any) -> Any:
    """The golden sample published on ``subject``, decoded as review receives it."""
    sample = {**json.loads((GOLDEN / f"{subject}.json").read_text()), **changes}
    return decode(subject, json.dumps(sample).encode())


def shown(contract: Any, position: int = 5) -> CaseRecord.EntryRecorded:
    """The one entry review records for ``contract``, received at ``position``."""
    reviews = Reviews()
    reviews.apply_upstream(contract, Tracking("referral", position))
    (entry,) = reviews.get_case(contract.case_id).chronology()
    return entry


@pytest.mark.parametrize(
    ("subject", "kind", "words"),
    [
        (
            "referral.action.completed.v1",
            "action_completed",
            ["police: done by phone with Invented Sergeant", "their reference INV-INC-2026-0077"],
        ),
        (
            "referral.action.declined.v1",
            "action_declined",
            ["parents or carers", "telling them would put the young person at risk"],
        ),
        (
            "referral.classification.overridden.v1",
            "classification_overridden",
            ["aggravated (youth intent to harm)", "threats were made in the group chat"],
        ),
        (
            "referral.risk.assessed.v1",
            "risk_assessed",
            ["medium", "shared beyond the intended recipient"],
        ),
        (
            "referral.safeguard.recorded.v1",
            "safeguard_recorded",
            ["YP-1 (counselling)", "weekly sessions with the school counsellor"],
        ),
        (
            "referral.police_outcome.recorded.v1",
            "police_outcome_recorded",
            ["outcome 21 on 2026-12-01", "INV-INC-2026-0077", "not in the public interest"],
        ),
    ],
)
def test_a_dsls_decision_is_shown_as_theirs_in_words(
    subject: str, kind: str, words: list[str]
) -> None:
    entry = shown(golden(subject), position=5)

    assert entry.kind == kind
    assert (entry.actor, entry.actor_role) == ("dsl.oak", "dsl")
    assert entry.source == "referral:5"
    for said in words:
        assert said in entry.summary


def test_an_action_done_without_a_reference_from_the_other_side_claims_none() -> None:
    entry = shown(
        golden(
            "referral.action.completed.v1",
            action="parents_or_carers",
            how="in_person",
            whom="Invented parent",
            their_reference="",
        )
    )

    assert entry.summary == "parents or carers: done in person with Invented parent"


def test_a_police_outcome_without_a_note_ends_at_the_reference() -> None:
    entry = shown(golden("referral.police_outcome.recorded.v1", note=""))

    assert entry.summary == "Police outcome 21 on 2026-12-01, police reference INV-INC-2026-0077"


def test_an_assessment_names_the_criteria_met_and_the_actions_it_requires() -> None:
    entry = shown(golden("referral.assessment.recorded.v1"))

    assert entry.kind == "assessment_recorded"
    assert (entry.actor, entry.actor_role) == ("referral-service", "system")
    # The start is the summary review showed before criteria and actions were published.
    assert entry.summary.startswith(
        "Assessment 2: aggravated under policy uk-2024.2; facts still missing: none; "
    )
    assert "subtype: adult involved" in entry.summary
    assert "criteria met: 1 (adult involved);" in entry.summary
    # Criterion 5 was decided, but not met.
    assert "immediate risk of harm" not in entry.summary
    assert "police required within 60 min" in entry.summary
    assert "parents or carers required within 24 h" in entry.summary


def test_an_escalation_is_shown_for_attention() -> None:
    from shared.contracts.referral import ActionEscalatedV1

    escalated = ActionEscalatedV1.model_validate(golden("referral.action.escalated.v1"))
    entry = shown(escalated)
    assert entry.kind == "action_escalated"
    assert entry.summary.startswith("FOR ATTENTION: police overdue since 2026-11-24 10:21 UTC")
    assert "escalated to the DSL" in entry.summary
    assert (entry.actor, entry.actor_role) == ("referral-service", "system")
