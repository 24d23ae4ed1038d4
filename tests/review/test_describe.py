"""What review says of each contract, as a pure function: no store, no application."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest
from eventsourcing.persistence import Tracking

from services.review.application import CaseNotFoundError, Reviews
from services.review.domain.chronology import Described, describe
from shared.contracts import CaseEntryContract, decode
from shared.contracts.referral import AssessmentRecordedV1

GOLDEN = Path(__file__).parents[1] / "contracts" / "golden"
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


class ThingNotYetShownV1(CaseEntryContract):
    """A contract a producer publishes before review has words for it."""


def unknown_contract() -> ThingNotYetShownV1:
    return ThingNotYetShownV1(
        case_id=uuid4(),
        school="OAK",
        reference="OAK-2026-0001",
        recorded_by="dsl.oak",
        recorded_by_role="dsl",
        occurred_at=NOW,
        recorded_at=NOW,
    )


def assessment(**changes: object) -> AssessmentRecordedV1:
    sample = json.loads((GOLDEN / f"{AssessmentRecordedV1.subject}.json").read_text())
    contract = decode(AssessmentRecordedV1.subject, json.dumps({**sample, **changes}).encode())
    assert isinstance(contract, AssessmentRecordedV1)
    return contract


def test_a_contract_review_has_no_words_for_is_not_described() -> None:
    assert describe(unknown_contract()) is None
    assert describe(object()) is None


def test_a_contract_review_does_not_show_still_moves_its_position_on() -> None:
    reviews = Reviews()
    contract = unknown_contract()

    reviews.apply_upstream(contract, Tracking("referral", 7))

    assert reviews.recorder.max_tracking_id("referral") == 7
    with pytest.raises(CaseNotFoundError):
        reviews.get_case(contract.case_id)


def test_an_assessment_before_criteria_were_published_reads_as_it_always_did() -> None:
    old = assessment(
        assessment_number=1,
        classification="undetermined",
        missing_facts=["adult_involvement"],
        policy_version="uk-2024.1",
        subtype="",
        criteria=[],
        actions=[],
    )

    assert describe(old) == Described(
        "assessment_recorded",
        "Assessment 1: undetermined under policy uk-2024.1; facts still missing: adult_involvement",
        actor_role="system",
    )


def test_an_assessment_with_no_criterion_met_says_so_and_gives_each_actions_level() -> None:
    sample = json.loads((GOLDEN / f"{AssessmentRecordedV1.subject}.json").read_text())
    not_met = [{**c, "status": "not_met"} for c in sample["criteria"]]
    actions = [
        {
            "action": "police",
            "level": "dsl_decides",
            "why": "experimental: the DSL decides; not referring needs written reasons",
            "due_within_minutes": 1440,
            "declinable": True,
        },
        {
            "action": "senior_management",
            "level": "recommended",
            "why": "invented",
            "due_within_minutes": 90,
            "declinable": False,
        },
    ]

    described = describe(
        assessment(
            classification="experimental", subtype="romantic", criteria=not_met, actions=actions
        )
    )

    assert described is not None
    assert "subtype: romantic; no immediate-referral criterion met;" in described.summary
    assert described.summary.endswith(
        "actions: police DSL decides within 24 h, senior management recommended within 90 min"
    )


def test_an_assessment_says_why_it_is_classified_so_when_its_version_states_it() -> None:
    why = (
        "violent_or_abusive_acts is yes: violent or abusive acts are an abusive element beyond "
        "the image's creation, aggravated whatever the consent"
    )
    stated = describe(
        assessment(
            policy_version="uk-2024.3",
            subtype="youth_intent_to_harm",
            classification_reason=why,
        )
    )
    assert stated is not None
    assert f"subtype: youth intent to harm; why: {why};" in stated.summary
    unstated = describe(assessment(subtype="youth_intent_to_harm"))
    assert unstated is not None
    assert "why:" not in unstated.summary


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_a_triage_counts_the_questions_of_its_own_version(version: str) -> None:
    subject = f"intake.triage.recorded.{version}"
    contract = decode(subject, (GOLDEN / f"{subject}.json").read_bytes())
    described = describe(contract)
    assert described is not None
    # V2 asks the acts in the imagery as two questions: one more than V1's seventeen.
    asked = {"v1": 17, "v2": 18}[version]
    answered = {"v1": 16, "v2": 16}[version]
    assert described.summary.startswith(
        f"Triage 2: {answered} of {asked} answered; adult involvement no; corrects triage 1:"
    )
