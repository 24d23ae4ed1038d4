"""Referral applies intake's facts: each change is assessed, the actions the policy requires are
opened with their deadlines, and the DSL's decisions close them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent, Tracking
from eventsourcing.utils import get_topic

from services.referral.application import Referrals
from services.referral.domain import (
    ActionCompleted,
    ActionDeclined,
    ActionError,
    ClassificationOverridden,
    PoliceOutcomeRecorded,
    Referral,
    RiskAssessed,
    SafeguardRecorded,
)
from services.review.application import Reviews
from shared.application import IdempotencyKeyReusedError
from shared.contracts.intake import TriageRecordedV1, TriageRecordedV2, YoungPersonRecordedV1
from shared.entries import NeedsReasonError
from tests.conftest import StoreChoice
from tests.helpers import incident_reported

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
GOLDEN = Path(__file__).parent.parent / "contracts" / "golden"
GOLDEN_TRIAGE = json.loads((GOLDEN / "intake.triage.recorded.v1.json").read_text())
GOLDEN_TRIAGE_V2 = json.loads((GOLDEN / "intake.triage.recorded.v2.json").read_text())
GOLDEN_PERSON = json.loads((GOLDEN / "intake.young_person.recorded.v1.json").read_text())
ROMANTIC = {
    "willing_or_coerced": "willing",
    "intent_to_harm": "no",
    "without_consent": "no",
    "spread_beyond_intended_recipient": "no",
    "experimental_context": "romantic",
}
CLEAR = {
    "adult_involvement": "no",
    "coercion_blackmail_or_grooming": "no",
    "capacity_to_consent_concerns": "no",
    "acts_unusual_or_violent": "no",
    "pictured_under_13": "no",
    "immediate_risk_of_harm": "no",
    "financially_motivated_extortion": "no",
    "image_locations": [{"kind": "device", "name": "Invented phone"}],
    "how_widely_shared": "one_recipient",
}


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


class CaseApp(Referrals):
    case_id: UUID
    position: int
    time: Clock

    def feed(self, contract: object) -> None:
        self.position += 1
        self.process_event(contract, Tracking("intake", self.position))  # type: ignore[arg-type]

    def triage(self, number: int, **answers: Any) -> None:
        self.feed(
            TriageRecordedV1.model_validate(
                {
                    **GOLDEN_TRIAGE,
                    **CLEAR,
                    "case_id": self.case_id,
                    "entry_number": number,
                    **answers,
                }
            )
        )

    def triage_apart(self, number: int, **answers: Any) -> None:
        """A triage that asks the acts in the imagery as two questions (V2), both no."""
        clear = {k: v for k, v in CLEAR.items() if k != "acts_unusual_or_violent"}
        self.feed(
            TriageRecordedV2.model_validate(
                {
                    **GOLDEN_TRIAGE_V2,
                    **clear,
                    "violent_or_abusive_acts": "no",
                    "acts_unusual_for_development": "no",
                    "case_id": self.case_id,
                    "entry_number": number,
                    **answers,
                }
            )
        )

    def decide(self, entry_kind: Any, by: str = "dsl.oak", **details: Any):  # type: ignore[no-untyped-def]
        return self.record_entry(
            self.case_id, entry_kind, details=details, recorded_by=by, recorded_by_role="dsl"
        )

    @property
    def case(self) -> Referral:
        return self.get_referral(self.case_id)


def new_case(env: dict[str, str] | None = None) -> CaseApp:
    clock = Clock()
    app = CaseApp(env, clock=clock)
    app.time = clock
    app.position = 0
    disclosure = incident_reported()
    app.case_id = disclosure.case_id  # type: ignore[attr-defined]
    app.feed(disclosure)
    return app


@pytest.fixture
def app() -> CaseApp:
    return new_case()


def test_each_change_of_facts_is_assessed_with_what_was_known_then(app: CaseApp) -> None:
    app.triage(1, adult_involvement="unknown")
    app.triage(2)
    app.feed(YoungPersonRecordedV1.model_validate({**GOLDEN_PERSON, "case_id": app.case_id}))
    assessments = app.case.assessments
    assert [a.number for a in assessments] == [1, 2, 3, 4]
    assert [a.caused_by for a in assessments] == ["intake:1", "intake:2", "intake:3", "intake:4"]
    assert "adult_involvement" in json.loads(assessments[1].outcome)["missing_facts"]
    assert "adult_involvement" not in json.loads(assessments[2].outcome)["missing_facts"]
    # Each keeps the facts it read: the young person arrives with the fourth.
    assert json.loads(assessments[2].facts)["young_people"] == []
    (person,) = json.loads(assessments[3].facts)["young_people"]
    assert person["pseudonym"] == GOLDEN_PERSON["pseudonym"]
    assert json.loads(assessments[3].facts)["triage"]["adult_involvement"] == "no"


def test_required_actions_open_with_their_deadlines(app: CaseApp) -> None:
    app.time.now = NOW + timedelta(minutes=30)
    app.triage(1, adult_involvement="suspected")
    police = app.case.actions["police"]
    assert (police.level, police.status, police.declinable) == ("required", "open", False)
    assert police.due_at == NOW + timedelta(minutes=90)
    assert not police.overdue(NOW + timedelta(minutes=89))
    assert police.overdue(NOW + timedelta(minutes=91))
    assert {"ceop", "childrens_social_care", "parents_or_carers"} <= set(app.case.actions)


def test_an_experimental_case_not_referred_needs_written_reasons(app: CaseApp) -> None:
    app.triage(1)
    app.decide(RiskAssessed, factors=ROMANTIC, conclusion="low", reasons="Invented")
    assert app.case.classification == ("experimental", "romantic")
    assert app.case.actions["police"].level == "dsl_decides"
    with pytest.raises(NeedsReasonError, match="written reason"):
        app.decide(ActionDeclined, action="police", reason=" ")
    app.decide(
        ActionDeclined,
        action="police",
        reason="Invented: a consensual exchange between two Year 10s, contained",
    )
    police = app.case.actions["police"]
    assert (police.status, police.decision["reason"][:9]) == ("declined", "Invented:")


def test_a_required_police_referral_cannot_be_declined(app: CaseApp) -> None:
    app.triage(1, adult_involvement="yes")
    with pytest.raises(ActionError, match="police cannot be declined"):
        app.decide(ActionDeclined, action="police", reason="Invented reason")
    app.decide(
        ActionCompleted,
        action="police",
        how="phone",
        whom="Invented Sergeant",
        their_reference="INV-INC-77",
    )
    assert app.case.actions["police"].decision["their_reference"] == "INV-INC-77"
    with pytest.raises(ActionError, match="done already"):
        app.decide(ActionCompleted, action="police", how="phone", whom="", their_reference="")


def test_a_declined_referral_reopens_when_new_facts_require_it(app: CaseApp) -> None:
    app.triage(1)
    app.decide(RiskAssessed, factors=ROMANTIC, conclusion="low", reasons="Invented")
    app.decide(ActionDeclined, action="police", reason="Invented: experimental")
    app.time.now = NOW + timedelta(days=3)
    app.triage(2, adult_involvement="suspected", correction_reason="Invented: new facts")
    police = app.case.actions["police"]
    assert (police.status, police.level) == ("open", "required")
    assert police.due_at == NOW + timedelta(days=3, minutes=60)
    assert police.history[0].startswith("declined (Invented: experimental), reopened")
    # The decision itself stays in the record.
    assert [type(d).__name__ for d in app.case.decisions] == ["ActionDeclined"]


def test_violent_acts_found_later_make_an_experimental_case_aggravated_and_reopen_the_police(
    app: CaseApp,
) -> None:
    app.triage_apart(1)
    app.decide(RiskAssessed, factors=ROMANTIC, conclusion="low", reasons="Invented")
    assert app.case.classification == ("experimental", "romantic")
    app.decide(ActionDeclined, action="police", reason="Invented: experimental")

    app.triage_apart(
        2, violent_or_abusive_acts="yes", correction_reason="Invented: the DSL learnt more"
    )
    assert app.case.classification == ("aggravated", "youth_intent_to_harm")
    latest = app.case.assessment
    assert latest is not None
    assert latest.classification_reason.startswith("violent_or_abusive_acts is yes")
    criterion_3 = next(c for c in latest.criteria if c.number == 3)
    assert (criterion_3.status, criterion_3.decided_by) == ("met", ("violent_or_abusive_acts",))
    police = app.case.actions["police"]
    assert (police.status, police.level, police.declinable) == ("open", "required", False)
    # The facts read are the two answers as given; the one old question is not among them.
    triage = json.loads(app.case.assessments[-1].facts)["triage"]
    assert (triage["violent_or_abusive_acts"], triage["acts_unusual_for_development"]) == (
        "yes",
        "no",
    )
    assert "acts_unusual_or_violent" not in triage


def test_the_risk_assessment_reassesses_in_the_same_save(app: CaseApp) -> None:
    app.triage(1)
    entry, created = app.decide(
        RiskAssessed, factors=ROMANTIC, conclusion="high", reasons="Invented"
    )
    assert created
    latest = app.case.assessments[-1]
    assert latest.caused_by == "referral:risk_assessment:1"
    assert latest.originator_version == entry.originator_version + 1
    assert app.case.actions["childrens_social_care"].why.endswith("concluded high risk")


def test_parents_are_told_unless_the_dsl_records_why_not(app: CaseApp) -> None:
    app.triage(1)
    app.decide(
        ActionDeclined,
        action="parents_or_carers",
        reason="Invented: telling them would put the young person at risk",
    )
    assert app.case.actions["parents_or_carers"].status == "declined"
    with pytest.raises(ActionError, match="senior_management cannot be declined"):
        app.decide(ActionDeclined, action="senior_management", reason="Invented")
    with pytest.raises(ActionError, match="no action hosting_site"):
        app.decide(ActionDeclined, action="hosting_site", reason="Invented")


def test_the_dsl_overrides_the_classification_with_a_reason(app: CaseApp) -> None:
    app.triage(1)
    with pytest.raises(NeedsReasonError):
        app.decide(
            ClassificationOverridden,
            classification="aggravated",
            subtype="youth_intent_to_harm",
            reason="",
        )
    with pytest.raises(ValueError, match="must be one of"):
        app.decide(
            ClassificationOverridden,
            classification="aggravated",
            subtype="romantic",
            reason="Invented",
        )
    app.decide(
        ClassificationOverridden,
        classification="aggravated",
        subtype="youth_intent_to_harm",
        reason="Invented: threats made in the chat",
    )
    assert app.case.classification == ("aggravated", "youth_intent_to_harm")
    assert app.case.assessment.classification == "undetermined"  # type: ignore[union-attr]


def test_safeguards_and_the_police_outcome_are_recorded(app: CaseApp) -> None:
    with pytest.raises(ValueError, match="no young person YP-1 on this case"):
        app.decide(SafeguardRecorded, pseudonym="YP-1", kind="support", detail="x")
    app.feed(
        YoungPersonRecordedV1.model_validate(
            {**GOLDEN_PERSON, "case_id": app.case_id, "pseudonym": "YP-1"}
        )
    )
    app.decide(SafeguardRecorded, pseudonym="YP-1", kind="counselling", detail="Invented")
    app.decide(
        PoliceOutcomeRecorded,
        code="21",
        outcome_date="2026-12-01",
        police_reference="INV-INC-77",
        note="Invented",
    )
    assert [s.kind for s in app.case.safeguards] == ["counselling"]
    assert app.case.police_outcomes[0].code == "21"
    with pytest.raises(ValueError, match="kind must be one of"):
        app.decide(SafeguardRecorded, pseudonym="YP-1", kind="detention", detail="")


def test_a_retry_with_the_same_key_decides_once(app: CaseApp) -> None:
    app.triage(1)

    def decline(reason: str) -> tuple[object, bool]:
        return app.record_entry(
            app.case_id,
            ActionDeclined,
            details={"action": "parents_or_carers", "reason": reason},
            recorded_by="dsl.oak",
            recorded_by_role="dsl",
            idempotency_key="k-1",
        )

    assert decline("Invented reason")[1]
    assert not decline("Invented reason")[1]
    with pytest.raises(IdempotencyKeyReusedError):
        decline("Another invented reason")


def test_a_retried_risk_assessment_without_the_age_gap_is_the_same_entry(app: CaseApp) -> None:
    """The age gap left out is kept as unknown (None): a retry that leaves it out again is the
    entry its first attempt recorded, not other details under a reused key."""

    def assess(**factors: Any) -> tuple[object, bool]:
        return app.record_entry(
            app.case_id,
            RiskAssessed,
            details={"factors": factors, "conclusion": "low", "reasons": "Invented"},
            recorded_by="dsl.oak",
            recorded_by_role="dsl",
            idempotency_key="k-risk",
        )

    entry, created = assess(**ROMANTIC)
    assert created
    assert entry.factors == {**ROMANTIC, "age_gap_years": None}  # type: ignore[attr-defined]
    assert assess(**ROMANTIC) == (entry, False)
    with pytest.raises(IdempotencyKeyReusedError):
        assess(**ROMANTIC, age_gap_years=4)


def test_an_assessment_recorded_by_the_first_build_still_loads(store: StoreChoice) -> None:
    """The first build stored the classification and missing facts only: the upcaster keeps
    them, and marks the facts as not recorded."""
    app = new_case(store.env("referral"))
    old = StoredEvent(
        originator_id=app.case_id,
        originator_version=app.case.version + 1,
        topic=get_topic(Referral.AssessmentRecorded),
        state=app.mapper.transcoder.encode(
            {
                "school": "OAK",
                "reference": "OAK-2026-0001",
                "number": 2,
                "classification": "undetermined",
                "missing_facts": ["adult_involvement"],
                "policy_version": "uk-2024.1",
                "caused_by": "intake:2",
                "recorded_by": "referral-service",
                "occurred_at": NOW,
                "recorded_at": NOW,
                "originator_id": app.case_id,
                "originator_version": app.case.version + 1,
                "timestamp": NOW,
            }
        ),
    )
    app.recorder.insert_events([old])
    loaded = app.case.assessments[-1]
    assert loaded.facts == ""
    assert json.loads(loaded.outcome)["missing_facts"] == ["adult_involvement"]
    assert app.case.assessment.policy_version == "uk-2024.1"  # type: ignore[union-attr]


def test_review_shows_each_assessment() -> None:
    reviews = Reviews()
    app = new_case()
    app.triage(1, adult_involvement="yes")
    from services.referral.adapters.contracts import to_contract

    reviews.process_event(incident_reported(case_id=app.case_id), Tracking("intake", 1))  # type: ignore[arg-type]
    for position, assessment in enumerate(app.case.assessments, start=1):
        reviews.process_event(to_contract(assessment), Tracking("referral", position))  # type: ignore[arg-type]
    summaries = [e.summary for e in reviews.get_case(app.case_id).entries]
    assert any("aggravated" in s for s in summaries)
