"""Decision replay: every assessment referral stored is re-run under the policy version it was made
under, over the facts it read, and must come out byte for byte as recorded."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import StoredEvent, Tracking
from eventsourcing.utils import get_topic
from typer.testing import CliRunner

from ops.cli import app as cli
from ops.replay import (
    Replay,
    Tally,
    Verdict,
    differences,
    replay_all,
    replay_case,
)
from services.referral.application import Referrals
from services.referral.domain import Referral, RiskAssessed
from services.referral.policy import POLICIES, Assessment, CaseFacts, assess, uk_2024_2
from shared.contracts.intake import (
    IncidentReportedV1,
    TriageRecordedV1,
    TriageRecordedV2,
    YoungPersonRecordedV1,
)
from tests.conftest import StoreChoice
from tests.review.test_chain import rewrite_stored_event

GOLDEN = Path(__file__).parent.parent / "contracts" / "golden"
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
ROMANTIC = {
    "willing_or_coerced": "willing",
    "intent_to_harm": "no",
    "without_consent": "no",
    "spread_beyond_intended_recipient": "no",
    "experimental_context": "romantic",
}
SUSPECTED = "OAK-2026-0002"


def golden(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((GOLDEN / f"intake.{name}.v1.json").read_text())
    return loaded


class Intake:
    """Intake's stream as referral receives it: each contract at the next position."""

    def __init__(self, referrals: Referrals) -> None:
        self.referrals = referrals
        self.position = 0

    def feed(self, contract: object) -> None:
        self.position += 1
        self.referrals.process_event(contract, Tracking("intake", self.position))  # type: ignore[arg-type]

    def case(self, reference: str, **triage: Any) -> UUID:
        """A disclosure, its triage (``CLEAR`` changed by ``triage``) and a young person:
        three assessments."""
        case_id = uuid4()
        same = {"case_id": case_id, "reference": reference}
        self.feed(IncidentReportedV1.model_validate({**golden("incident.reported"), **same}))
        self.feed(
            TriageRecordedV1.model_validate(
                {**golden("triage.recorded"), **CLEAR, **same, "entry_number": 1, **triage}
            )
        )
        self.feed(YoungPersonRecordedV1.model_validate({**golden("young_person.recorded"), **same}))
        return case_id


def some_cases(env: dict[str, str]) -> dict[str, UUID]:
    """Three cases, ten assessments: one with an adult suspected; one experimental, with the
    DSL's risk assessment (a fourth assessment), both under uk-2024.2; and one made under
    uk-2024.1."""
    referrals = Referrals(env, policy_version=uk_2024_2.VERSION)
    intake = Intake(referrals)
    cases = {
        "OAK-2026-0001": intake.case("OAK-2026-0001"),
        SUSPECTED: intake.case(SUSPECTED, adult_involvement="suspected"),
    }
    referrals.record_entry(
        cases["OAK-2026-0001"],
        RiskAssessed,
        details={"factors": ROMANTIC, "conclusion": "low", "reasons": "Invented"},
        recorded_by="dsl.oak",
        recorded_by_role="dsl",
    )
    referrals.close()
    first = Referrals(env, policy_version="uk-2024.1")
    intake = Intake(first)
    intake.position = 100
    cases["OAK-2026-0003"] = intake.case("OAK-2026-0003")
    first.close()
    return cases


def police_not_required_for_a_suspected_adult(facts: CaseFacts) -> Assessment:
    """uk-2024.2 with one rule changed: an adult only suspected no longer requires the police."""
    found = uk_2024_2.assess(facts)
    if facts.triage("adult_involvement") != "suspected":
        return found
    actions = tuple(
        replace(
            a,
            level="recommended",
            why="suspected adult involvement: the DSL decides",
            due_within_minutes=uk_2024_2.WITHIN_A_DAY,
            declinable=True,
        )
        if a.action == "police"
        else a
        for a in found.actions
    )
    return replace(found, actions=actions)


def replayed(env: dict[str, str]) -> list[Replay]:
    referrals = Referrals(env)
    try:
        return list(replay_all(referrals))
    finally:
        referrals.close()


def fields(result: Replay) -> dict[str, tuple[str, str]]:
    return {d.field: (d.recorded, d.replayed) for d in result.differences}


def first_build_assessment(referrals: Referrals, case_id: UUID) -> None:
    """Store an assessment as the first build did: no facts, no criteria, no actions."""
    version = max(e.originator_version for e in referrals.repository.event_store.get(case_id)) + 1
    now = referrals.clock()
    referrals.recorder.insert_events(
        [
            StoredEvent(
                originator_id=case_id,
                originator_version=version,
                topic=get_topic(Referral.AssessmentRecorded),
                state=referrals.mapper.transcoder.encode(
                    {
                        "school": "OAK",
                        "reference": "OAK-2026-0001",
                        "number": 5,
                        "classification": "undetermined",
                        "missing_facts": ["adult_involvement"],
                        "policy_version": "uk-2024.1",
                        "caused_by": "intake:9",
                        "recorded_by": "referral-service",
                        "occurred_at": now,
                        "recorded_at": now,
                        "originator_id": case_id,
                        "originator_version": version,
                        "timestamp": now,
                    }
                ),
            )
        ]
    )


def test_every_assessment_replays_to_the_bytes_recorded(store: StoreChoice) -> None:
    env = store.env("referral")
    cases = some_cases(env)
    results = replayed(env)
    assert [(r.reference, r.number) for r in results] == [
        ("OAK-2026-0001", 1),
        ("OAK-2026-0001", 2),
        ("OAK-2026-0001", 3),
        ("OAK-2026-0001", 4),
        (SUSPECTED, 1),
        (SUSPECTED, 2),
        (SUSPECTED, 3),
        ("OAK-2026-0003", 1),
        ("OAK-2026-0003", 2),
        ("OAK-2026-0003", 3),
    ]
    assert {r.verdict for r in results} == {Verdict.REPRODUCED}
    assert all(r.replayed == r.recorded and r.replayed for r in results)
    assert [r.case_id for r in results if r.number == 1] == list(cases.values())
    assert {r.policy_version for r in results} == {"uk-2024.1", "uk-2024.2"}
    # What was replayed is the decision the DSL saw: the suspected adult's police referral.
    police = json.loads(results[5].recorded)["actions"][0]
    assert (police["action"], police["level"]) == ("police", "required")


def test_a_changed_policy_rule_is_found_by_replay(
    store: StoreChoice, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = store.env("referral")
    cases = some_cases(env)
    monkeypatch.setitem(POLICIES, "uk-2024.2", police_not_required_for_a_suspected_adult)
    results = replayed(env)
    differ = [r for r in results if r.verdict is Verdict.DIFFERS]
    # The first assessment (before the triage) knew of no adult: only the two after it differ.
    assert [(r.case_id, r.reference, r.number) for r in differ] == [
        (cases[SUSPECTED], SUSPECTED, 2),
        (cases[SUSPECTED], SUSPECTED, 3),
    ]
    changed = fields(differ[0])
    assert changed == {
        "action police.level": ("required", "recommended"),
        "action police.declinable": ("false", "true"),
        "action police.due_within_minutes": ("60", "1440"),
        "action police.why": (
            "possible adult involvement is always referred to the police",
            "suspected adult involvement: the DSL decides",
        ),
    }
    assert differ[0].recorded != differ[0].replayed
    tally = Tally()
    for r in results:
        tally.add(r)
    assert tally.line() == "10 assessments replayed, 8 reproduced, 2 differ, 0 not replayable"
    assert tally.failed


def test_differences_are_named_field_by_field() -> None:
    triage = {**CLEAR, "image_location_kinds": ["device"], "sexual_acts": "no"}
    then = assess(CaseFacts.of({"triage": {**triage, "adult_involvement": "yes"}}), "uk-2024.2")
    now = assess(CaseFacts.of({"triage": triage}), "uk-2024.2")
    changed = {
        d.field: (d.recorded, d.replayed) for d in differences(then.canonical(), now.canonical())
    }
    assert changed["classification"] == ("aggravated", "undetermined")
    assert changed["subtype"] == ("adult_involved", "")
    assert changed["criterion 1 (adult_involved).status"] == ("met", "not_met")
    assert changed["action police.level"] == ("required", "dsl_decides")
    # An action one side has and the other has not is shown whole beside "(none)".
    recorded, replayed_ceop = changed["action ceop"]
    assert json.loads(recorded)["level"] == "required"
    assert replayed_ceop == "(none)"
    # The same actions in another order are other bytes: that is a difference too.
    swapped = replace(then, actions=(then.actions[1], then.actions[0], *then.actions[2:]))
    assert [d.field for d in differences(then.canonical(), swapped.canonical())] == [
        "order of actions"
    ]


def test_an_assessment_of_the_first_build_is_not_replayable_nor_a_difference(
    store: StoreChoice,
) -> None:
    env = store.env("referral")
    cases = some_cases(env)
    referrals = Referrals(env)
    first_build_assessment(referrals, cases["OAK-2026-0001"])
    results = replay_case(referrals, cases["OAK-2026-0001"])
    referrals.close()
    assert [r.verdict for r in results] == [Verdict.REPRODUCED] * 4 + [Verdict.NO_FACTS]
    old = results[-1]
    assert (old.number, old.policy_version, old.replayed, old.differences) == (
        5,
        "uk-2024.1",
        "",
        (),
    )
    assert not old.replayable
    tally = Tally()
    for r in results:
        tally.add(r)
    assert not tally.failed
    assert tally.line() == (
        "5 assessments replayed, 4 reproduced, 0 differ, 1 not replayable "
        "(1 recorded before facts were kept, 0 under a policy version this build lacks)"
    )


def test_a_policy_that_fails_on_the_recorded_facts_is_a_difference(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    referrals = Referrals(policy_version=uk_2024_2.VERSION)
    case_id = Intake(referrals).case(SUSPECTED)

    def unreadable(facts: CaseFacts) -> Assessment:
        raise KeyError("young_people")

    monkeypatch.setitem(POLICIES, "uk-2024.2", unreadable)
    results = replay_case(referrals, case_id)
    assert [(r.verdict, r.problem) for r in results] == [
        (Verdict.DIFFERS, "KeyError: 'young_people'")
    ] * 3
    tally = Tally()
    for r in results:
        tally.add(r)
    assert tally.failed


def test_an_outcome_altered_in_the_store_is_found(store: StoreChoice) -> None:
    """Replay reads what is on disk: an outcome edited in the database no longer reproduces."""
    env = store.env("referral")
    cases = some_cases(env)
    referrals = Referrals(env)
    table = referrals.recorder.events_table_name  # type: ignore[attr-defined]
    second = next(
        e
        for e in referrals.repository.event_store.get(cases[SUSPECTED])
        if isinstance(e, Referral.AssessmentRecorded) and e.number == 2
    )
    rewrite_stored_event(
        table,
        store,
        env,
        second.originator_version,
        cases[SUSPECTED],
        "always referred to the police",
        "sometimes referred to the police",
    )
    results = replay_case(referrals, cases[SUSPECTED])
    referrals.close()
    assert [r.verdict for r in results] == [
        Verdict.REPRODUCED,
        Verdict.DIFFERS,
        Verdict.REPRODUCED,
    ]
    assert fields(results[1]) == {
        "action police.why": (
            "possible adult involvement is sometimes referred to the police",
            "possible adult involvement is always referred to the police",
        )
    }


def cli_env(store: StoreChoice, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    settings = store.settings()
    monkeypatch.setenv("SAFEGUARD_VAR_DIR", str(settings.var_dir))
    monkeypatch.setenv("SAFEGUARD_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SAFEGUARD_DATABASE_SCHEMA_PREFIX", settings.database_schema_prefix)
    return store.env("referral")


def test_safeguard_audit_replay_names_each_difference(
    store: StoreChoice, monkeypatch: pytest.MonkeyPatch
) -> None:
    cases = some_cases(cli_env(store, monkeypatch))

    clean = CliRunner().invoke(cli, ["audit", "replay"])
    assert clean.exit_code == 0, clean.output
    assert clean.stdout.strip() == (
        "10 assessments replayed, 10 reproduced, 0 differ, 0 not replayable"
    )

    monkeypatch.setitem(POLICIES, "uk-2024.2", police_not_required_for_a_suspected_adult)
    changed = CliRunner().invoke(cli, ["audit", "replay"])
    assert changed.exit_code == 1, changed.output
    lines = changed.stdout.splitlines()
    suspected = cases[SUSPECTED]
    assert [line for line in lines if not line.startswith(" ")] == [
        f"DIFFERS {SUSPECTED} ({suspected}) assessment 2 under uk-2024.2",
        f"DIFFERS {SUSPECTED} ({suspected}) assessment 3 under uk-2024.2",
        "10 assessments replayed, 8 reproduced, 2 differ, 0 not replayable",
    ]
    level = next(line.split() for line in lines if "action police.level" in line)
    assert level == ["action", "police.level", "recorded", "required", "replayed", "recommended"]
    assert sum("action police.declinable" in line for line in lines) == 2


def test_safeguard_audit_replay_counts_the_first_build_and_fails_on_a_lost_version(
    store: StoreChoice, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = cli_env(store, monkeypatch)
    cases = some_cases(env)
    referrals = Referrals(env)
    first_build_assessment(referrals, cases["OAK-2026-0001"])
    referrals.close()

    old = CliRunner().invoke(cli, ["audit", "replay"])
    assert old.exit_code == 0, old.output
    assert old.stdout.strip() == (
        "11 assessments replayed, 10 reproduced, 0 differ, 1 not replayable "
        "(1 recorded before facts were kept, 0 under a policy version this build lacks)"
    )

    # A build that dropped a released version cannot replay what was decided under it.
    monkeypatch.delitem(POLICIES, "uk-2024.1")
    lost = CliRunner().invoke(cli, ["audit", "replay"])
    assert lost.exit_code == 1, lost.output
    missing = [line for line in lost.stdout.splitlines() if line.startswith("MISSING")]
    assert missing == [
        f"MISSING POLICY VERSION uk-2024.1: OAK-2026-0003 ({cases['OAK-2026-0003']}) "
        f"assessment {n} cannot be replayed; this build has only uk-2024.2, uk-2024.3, "
        "and a released version must stay"
        for n in (1, 2, 3)
    ]
    assert lost.stdout.splitlines()[-1] == (
        "11 assessments replayed, 7 reproduced, 0 differ, 4 not replayable "
        "(1 recorded before facts were kept, 3 under a policy version this build lacks)"
    )


# Upgrading to uk-2024.3 (issue 12): what was decided before replays under its own version.

# An assessment as the build before uk-2024.3 recorded it, byte for byte: a triage that asked
# the acts in the imagery as one question (answered yes), and a romantic exchange by the DSL's
# risk assessment. uk-2024.2 called it experimental, criterion 3 met.
RECORDED_FACTS = (
    '{"disclosure_route":"young_person","risk_assessment":{"conclusion":"low",'
    '"experimental_context":"romantic","intent_to_harm":"no","spread_beyond_intended_recipient":'
    '"no","willing_or_coerced":"willing","without_consent":"no"},"triage":{'
    '"acts_unusual_or_violent":"yes","adult_involvement":"no","capacity_to_consent_concerns":"no",'
    '"coercion_blackmail_or_grooming":"no","financially_motivated_extortion":"no",'
    '"how_widely_shared":"one_recipient","image_location_kinds":["device"],'
    '"immediate_risk_of_harm":"no","pictured_under_13":"no","sexual_acts":"no"},'
    '"young_people":[]}'
)
RECORDED_OUTCOME = (
    '{"actions":[{"action":"police","declinable":false,"due_within_minutes":60,"level":"required",'
    '"why":"immediate referral: criterion 3 (acts_unusual_or_violent) met"},{"action":'
    '"childrens_social_care","declinable":true,"due_within_minutes":60,"level":"required","why":'
    '"immediate referral: criterion 3 (acts_unusual_or_violent) met"},{"action":'
    '"parents_or_carers","declinable":true,"due_within_minutes":1440,"level":"required","why":'
    '"told unless that would put the young person at risk, with the reason recorded"},{"action":'
    '"senior_management","declinable":false,"due_within_minutes":1440,"level":"required","why":'
    '"senior management is always informed"},{"action":"dsl_record","declinable":false,'
    '"due_within_minutes":1440,"level":"required","why":'
    '"the DSL always records the incident and each decision"}],"classification":"experimental",'
    '"criteria":[{"decided_by":["adult_involvement"],"name":"adult_involved","number":1,'
    '"status":"not_met"},{"decided_by":["coercion_blackmail_or_grooming",'
    '"capacity_to_consent_concerns"],"name":"coerced_blackmailed_groomed_or_capacity_to_consent",'
    '"number":2,"status":"not_met"},{"decided_by":["acts_unusual_or_violent"],"name":'
    '"acts_unusual_or_violent","number":3,"status":"met"},{"decided_by":["sexual_acts",'
    '"pictured_under_13"],"name":"sexual_acts_under_13","number":4,"status":"not_met"},'
    '{"decided_by":["immediate_risk_of_harm"],"name":"immediate_risk_of_harm","number":5,'
    '"status":"not_met"}],"missing_facts":[],"policy_version":"uk-2024.2","subtype":"romantic"}'
)


def test_an_assessment_recorded_before_uk_2024_3_replays_identically_beside_the_new_ones(
    store: StoreChoice,
) -> None:
    env = store.env("referral")
    before = Referrals(env, policy_version=uk_2024_2.VERSION)
    case_id = uuid4()
    same = {"case_id": case_id, "reference": "OAK-2026-0009"}
    Intake(before).feed(IncidentReportedV1.model_validate({**golden("incident.reported"), **same}))
    referral = before.get_referral(case_id)
    referral.trigger_event(
        Referral.AssessmentRecorded,
        school="OAK",
        reference="OAK-2026-0009",
        number=2,
        facts=RECORDED_FACTS,
        outcome=RECORDED_OUTCOME,
        action_states="",
        policy_version=uk_2024_2.VERSION,
        caused_by="intake:2",
        recorded_by="referral-service",
        occurred_at=before.clock(),
        recorded_at=before.clock(),
    )
    before.save(referral)
    before.close()

    # The upgraded build assesses under the trust's version now: uk-2024.3.
    after = Referrals(env)
    assert after.policy_version == "uk-2024.3"
    intake = Intake(after)
    intake.position = 2
    intake.feed(YoungPersonRecordedV1.model_validate({**golden("young_person.recorded"), **same}))
    # The old one answer still meets criterion 3, named as deciding it; which act it meant is
    # asked again, and until then the case is not called experimental.
    legacy = after.get_referral(case_id).assessment
    assert legacy is not None
    criterion_3 = next(c for c in legacy.criteria if c.number == 3)
    assert (criterion_3.status, criterion_3.decided_by) == ("met", ("acts_unusual_or_violent",))
    assert (legacy.classification, legacy.missing_facts) == (
        "undetermined",
        ("violent_or_abusive_acts",),
    )
    # The DSL answers the two questions apart: violent acts, in a willing exchange.
    v2 = json.loads((GOLDEN / "intake.triage.recorded.v2.json").read_text())
    apart = {k: v for k, v in CLEAR.items() if k != "acts_unusual_or_violent"}
    intake.feed(
        TriageRecordedV2.model_validate(
            {
                **v2,
                **apart,
                **same,
                "violent_or_abusive_acts": "yes",
                "acts_unusual_for_development": "no",
            }
        )
    )
    now = after.get_referral(case_id).assessment
    assert now is not None
    assert (now.classification, now.subtype) == ("aggravated", "youth_intent_to_harm")
    assert now.classification_reason.startswith("violent_or_abusive_acts is yes")
    after.close()

    results = replayed(env)
    assert [(r.number, r.policy_version, r.verdict) for r in results] == [
        (1, "uk-2024.2", Verdict.REPRODUCED),
        (2, "uk-2024.2", Verdict.REPRODUCED),
        (3, "uk-2024.3", Verdict.REPRODUCED),
        (4, "uk-2024.3", Verdict.REPRODUCED),
    ]
    assert results[1].recorded == results[1].replayed == RECORDED_OUTCOME
