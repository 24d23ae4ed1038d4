"""Each assessment records, and publishes, the case's actions as they stand right after it, so
that no other service works them out again from the policy's required actions."""

from __future__ import annotations

import json
from pathlib import Path

from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from services.referral.adapters.contracts import to_contract
from services.referral.domain import ActionCompleted, ActionDeclined, Referral, RiskAssessed
from services.referral.domain.actions import canonical_states
from services.referral.policy import Assessment, RequiredAction
from shared.contracts import decode
from shared.contracts.referral import AssessmentRecordedV1
from tests.conftest import StoreChoice
from tests.referral.test_referrals import NOW, ROMANTIC, CaseApp, new_case

GOLDEN = Path(__file__).parent.parent / "contracts" / "golden"
ON_A_SITE = [{"kind": "site_or_app", "name": "Invented app"}]


def decided_then_reassessed(app: CaseApp) -> None:
    """The image on an app; police left to the DSL and declined, parents told; then an adult
    may be involved and the image is found on a phone only."""
    app.triage(1, image_locations=ON_A_SITE)
    app.decide(RiskAssessed, factors=ROMANTIC, conclusion="low", reasons="Invented")
    app.decide(ActionDeclined, action="police", reason="Invented: experimental")
    app.decide(
        ActionCompleted,
        action="parents_or_carers",
        how="phone",
        whom="Invented parent",
        their_reference="",
    )
    app.time.now = NOW.replace(hour=15)
    app.triage(2, adult_involvement="suspected", correction_reason="Invented: new facts")


def test_each_assessment_records_the_actions_its_apply_leaves(store: StoreChoice) -> None:
    app = new_case(store.env("referral"))
    decided_then_reassessed(app)
    assessments = app.case.assessments
    assert len(assessments) >= 3
    for recorded in assessments:
        # The case read back from the store as it stood right after this assessment.
        then = app.repository.get(app.case_id, version=recorded.originator_version)
        assert recorded.action_states == canonical_states(then.actions)
    latest = {s["action"]: s for s in json.loads(assessments[-1].action_states)}
    assert (latest["police"]["status"], latest["police"]["level"]) == ("open", "required")
    assert latest["police"]["required_since"] == NOW.replace(hour=15).isoformat()
    assert latest["parents_or_carers"]["status"] == "done"
    assert latest["hosting_site"]["level"] == "no_longer_required"
    # The DSL's words stay out: they are published, marked personal, with each decision.
    assert "Invented" not in assessments[-1].action_states


def test_the_assessment_is_published_with_the_actions_after_it() -> None:
    app = new_case()
    decided_then_reassessed(app)
    latest = app.case.assessments[-1]
    contract = to_contract(latest)
    assert isinstance(contract, AssessmentRecordedV1)
    assert contract.actions_after is not None
    police = next(a for a in contract.actions_after if a.action == "police")
    assert (police.status, police.declinable) == ("open", False)
    assert police.due_at == app.case.actions["police"].due_at
    # As it travels: the states survive the JSON a consumer decodes.
    travelled = decode(AssessmentRecordedV1.subject, contract.model_dump_json().encode())
    assert travelled == contract


def test_an_assessment_recorded_before_the_states_were_kept_loads_without_them(
    store: StoreChoice,
) -> None:
    """Version 2 stored no states: the upcaster marks them not recorded, the actions are what
    the event's apply makes of its outcome, and it is published without ``actions_after``."""
    app = new_case(store.env("referral"))
    version = app.case.version + 1
    outcome = Assessment(
        "experimental",
        (),
        "uk-2024.2",
        subtype="romantic",
        actions=(RequiredAction("police", "dsl_decides", "invented", 1440, declinable=True),),
    )
    old = StoredEvent(
        originator_id=app.case_id,
        originator_version=version,
        topic=get_topic(Referral.AssessmentRecorded),
        state=app.mapper.transcoder.encode(
            {
                "school": "OAK",
                "reference": "OAK-2026-0001",
                "number": 2,
                "facts": "",
                "outcome": outcome.canonical(),
                "policy_version": "uk-2024.2",
                "caused_by": "intake:2",
                "recorded_by": "referral-service",
                "occurred_at": NOW,
                "recorded_at": NOW,
                "originator_id": app.case_id,
                "originator_version": version,
                "timestamp": NOW,
                "class_version": 2,
            }
        ),
    )
    app.recorder.insert_events([old])
    loaded = app.case.assessments[-1]
    assert loaded.action_states == ""
    assert app.case.actions["police"].level == "dsl_decides"
    contract = to_contract(loaded)
    assert isinstance(contract, AssessmentRecordedV1)
    assert [a.action for a in contract.actions] == ["police"]
    assert contract.actions_after is None


def test_an_assessment_published_before_actions_after_still_decodes() -> None:
    """Within version 1 ``actions_after`` is optional: an older message reads as "not
    published" (null), which is not "no actions" (an empty list)."""
    sample = json.loads((GOLDEN / "referral.assessment.recorded.v1.json").read_text())
    assert sample["actions_after"]
    del sample["actions_after"]
    contract = decode(AssessmentRecordedV1.subject, json.dumps(sample).encode())
    assert isinstance(contract, AssessmentRecordedV1)
    assert contract.actions_after is None
    none = decode(
        AssessmentRecordedV1.subject, json.dumps({**sample, "actions_after": []}).encode()
    )
    assert isinstance(none, AssessmentRecordedV1)
    assert none.actions_after == ()
