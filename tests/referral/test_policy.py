"""The referral policy: a pure function of the recorded facts and a version.

The scenario table runs each case from the policy and the guidance (``../shared/domain``) from its
facts to the classification, the five criteria and the actions required, under each version it
names: uk-2024.2 over a triage that asked the acts in the imagery as one question, uk-2024.3 over
one that asks them apart.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from services.referral.policy import (
    CURRENT,
    CaseFacts,
    UnknownPolicyVersionError,
    assess,
    uk_2024_2,
    uk_2024_3,
)
from services.referral.policy.uk_2024_1 import DECIDING_FACTS

UK_2024_2, UK_2024_3 = uk_2024_2.VERSION, uk_2024_3.VERSION
BOTH = (UK_2024_2, UK_2024_3)

# A triage with every referral fact ruled out: one image, sent to one recipient, on a device.
CLEAR = {
    "adult_involvement": "no",
    "coercion_blackmail_or_grooming": "no",
    "capacity_to_consent_concerns": "no",
    "violent_or_abusive_acts": "no",
    "acts_unusual_for_development": "no",
    "sexual_acts": "no",
    "pictured_under_13": "no",
    "immediate_risk_of_harm": "no",
    "financially_motivated_extortion": "no",
    "ai_generated_or_altered": "no",
    "how_widely_shared": "one_recipient",
    "device_ownership": "personal",
    "image_location_kinds": ["device"],
}
# The same, as a triage recorded before the acts in the imagery were asked apart.
APART = ("violent_or_abusive_acts", "acts_unusual_for_development")
CLEAR_AS_ONE = {
    **{k: v for k, v in CLEAR.items() if k not in APART},
    "acts_unusual_or_violent": "no",
}
# The DSL's risk assessment of a willing exchange within a relationship, kept between the two.
ROMANTIC = {
    "willing_or_coerced": "willing",
    "intent_to_harm": "no",
    "without_consent": "no",
    "spread_beyond_intended_recipient": "no",
    "experimental_context": "romantic",
    "conclusion": "low",
}
ALWAYS = {"parents_or_carers", "senior_management", "dsl_record"}
IMMEDIATE_POLICE = {"police", "childrens_social_care"}


@dataclass(frozen=True)
class Scenario:
    name: str
    triage: dict[str, Any] = field(default_factory=dict)
    risk: dict[str, Any] | None = field(default_factory=dict)
    young_people: tuple[dict[str, Any], ...] = ()
    classification: str = "experimental"
    subtype: str = "romantic"
    criteria_met: frozenset[int] = frozenset()
    police: str = "dsl_decides"
    also: frozenset[str] = frozenset()  # actions beyond police and the three always required
    missing: frozenset[str] = frozenset()
    versions: tuple[str, ...] = BOTH
    asked_as_one: bool = False  # the triage was recorded before the acts were asked apart

    def facts(self, version: str = UK_2024_3) -> CaseFacts:
        # uk-2024.2 only ever read a triage that asked the acts in the imagery as one question.
        clear = CLEAR_AS_ONE if self.asked_as_one or version == UK_2024_2 else CLEAR
        facts: dict[str, Any] = {"triage": {**clear, **self.triage}}
        if self.risk is not None:
            facts["risk_assessment"] = {**ROMANTIC, **self.risk}
        facts["young_people"] = list(self.young_people)
        return CaseFacts.of(facts)


def pictured(age: int | None) -> dict[str, Any]:
    return {"pseudonym": "YP-1", "age": age, "roles": ["pictured", "sender"]}


S = Scenario
ADULT = {"adult_involvement": "yes"}
SCENARIOS = [
    S("romantic exchange, nothing aggravating: the DSL decides"),
    S(
        "sexual attention seeking",
        risk={"experimental_context": "sexual_attention_seeking"},
        subtype="sexual_attention_seeking",
    ),
    S("experimental, other", risk={"experimental_context": "other"}, subtype="other"),
    S(
        "experimental, context not yet known",
        risk={"experimental_context": "unknown"},
        subtype="",
        missing=frozenset({"experimental_context"}),
    ),
    S(
        "an adult involved",
        triage=ADULT,
        classification="aggravated",
        subtype="adult_involved",
        criteria_met=frozenset({1}),
        police="required",
        also=frozenset({"ceop", "childrens_social_care"}),
    ),
    S(
        "an adult only suspected: still always to the police",
        triage={"adult_involvement": "suspected"},
        classification="aggravated",
        subtype="adult_involved",
        criteria_met=frozenset({1}),
        police="required",
        also=frozenset({"ceop", "childrens_social_care"}),
    ),
    S(
        "an adult, before any risk assessment",
        triage=ADULT,
        risk=None,
        classification="aggravated",
        subtype="adult_involved",
        criteria_met=frozenset({1}),
        police="required",
        also=frozenset({"ceop", "childrens_social_care"}),
    ),
    S(
        "adult involvement not known yet",
        triage={"adult_involvement": "unknown"},
        classification="undetermined",
        subtype="",
        missing=frozenset({"adult_involvement"}),
    ),
    S(
        "coercion in an otherwise romantic exchange",
        triage={"coercion_blackmail_or_grooming": "yes"},
        classification="aggravated",
        subtype="youth_intent_to_harm",
        criteria_met=frozenset({2}),
        police="required",
        also=frozenset({"ceop", "childrens_social_care"}),
    ),
    S(
        "financially motivated extortion by a peer",
        triage={"financially_motivated_extortion": "yes"},
        classification="aggravated",
        subtype="youth_intent_to_harm",
        police="recommended",
        also=frozenset({"ceop"}),
    ),
    S(
        "coerced, by the DSL's risk assessment",
        risk={"willing_or_coerced": "coerced"},
        classification="aggravated",
        subtype="youth_intent_to_harm",
        police="recommended",
    ),
    S(
        "shared to humiliate after a break-up",
        risk={"intent_to_harm": "yes"},
        classification="aggravated",
        subtype="youth_intent_to_harm",
        police="recommended",
    ),
    S(
        "concerns about capacity to consent (special educational needs), romantic",
        triage={"capacity_to_consent_concerns": "yes"},
        criteria_met=frozenset({2}),
        police="required",
        also=frozenset({"childrens_social_care"}),
    ),
    S(
        "acts unusual or violent, asked as one question: criterion 3, nothing else",
        triage={"acts_unusual_or_violent": "yes"},
        criteria_met=frozenset({3}),
        police="required",
        also=frozenset({"childrens_social_care"}),
        versions=(UK_2024_2,),
    ),
    # uk-2024.3: the two facts of what is known of the imagery.
    S(
        "violent acts in a willing, romantic exchange: aggravated whatever the consent",
        triage={"violent_or_abusive_acts": "yes"},
        classification="aggravated",
        subtype="youth_intent_to_harm",
        criteria_met=frozenset({3}),
        police="required",
        also=frozenset({"childrens_social_care"}),
        versions=(UK_2024_3,),
    ),
    S(
        "acts unusual for the developmental stage: an immediate referral, not aggravated",
        triage={"acts_unusual_for_development": "yes"},
        criteria_met=frozenset({3}),
        police="required",
        also=frozenset({"childrens_social_care"}),
        versions=(UK_2024_3,),
    ),
    S(
        "violent acts, adult involvement unknown",
        triage={"violent_or_abusive_acts": "yes", "adult_involvement": "unknown"},
        classification="aggravated",
        subtype="",
        criteria_met=frozenset({3}),
        police="required",
        also=frozenset({"childrens_social_care"}),
        missing=frozenset({"adult_involvement"}),
        versions=(UK_2024_3,),
    ),
    S(
        "whether the acts were violent not yet known: not called experimental",
        triage={"violent_or_abusive_acts": "unknown"},
        classification="undetermined",
        subtype="",
        missing=frozenset({"violent_or_abusive_acts"}),
        versions=(UK_2024_3,),
    ),
    S(
        "whether the acts were unusual not yet known: criterion 3 open",
        triage={"acts_unusual_for_development": "unknown"},
        missing=frozenset({"acts_unusual_for_development"}),
        versions=(UK_2024_3,),
    ),
    S(
        "asked as one question before uk-2024.3, yes: criterion 3 met, which act is asked",
        triage={"acts_unusual_or_violent": "yes"},
        asked_as_one=True,
        classification="undetermined",
        subtype="",
        criteria_met=frozenset({3}),
        police="required",
        also=frozenset({"childrens_social_care"}),
        missing=frozenset({"violent_or_abusive_acts"}),
        versions=(UK_2024_3,),
    ),
    S(
        "asked as one question before uk-2024.3, no: both ruled out",
        asked_as_one=True,
        versions=(UK_2024_3,),
    ),
    S(
        "asked as one question before uk-2024.3, unknown: both asked",
        triage={"acts_unusual_or_violent": "unknown"},
        asked_as_one=True,
        classification="undetermined",
        subtype="",
        missing=frozenset({"violent_or_abusive_acts", "acts_unusual_for_development"}),
        versions=(UK_2024_3,),
    ),
    S("pictured under 13, no sexual acts", triage={"pictured_under_13": "yes"}),
    S(
        "pictured under 13, with sexual acts",
        triage={"pictured_under_13": "yes", "sexual_acts": "yes"},
        criteria_met=frozenset({4}),
        police="required",
        also=frozenset({"childrens_social_care"}),
    ),
    S(
        "under 13 by the pictured young person's recorded age, with sexual acts",
        triage={"pictured_under_13": "unknown", "sexual_acts": "yes"},
        young_people=(pictured(12),),
        criteria_met=frozenset({4}),
        police="required",
        also=frozenset({"childrens_social_care"}),
    ),
    S(
        "sexual acts, and the pictured young person's age rules out under 13",
        triage={"pictured_under_13": "unknown", "sexual_acts": "yes"},
        young_people=(pictured(14),),
    ),
    S(
        "under 13, whether sexual acts not yet known",
        triage={"pictured_under_13": "yes", "sexual_acts": "unknown"},
        missing=frozenset({"sexual_acts"}),
    ),
    S(
        "immediate risk of harm (self-harm)",
        triage={"immediate_risk_of_harm": "yes"},
        criteria_met=frozenset({5}),
        police="required",
        also=frozenset({"childrens_social_care"}),
    ),
    S(
        "forwarded beyond the intended recipient",
        risk={"spread_beyond_intended_recipient": "yes"},
        triage={"how_widely_shared": "small_group"},
        classification="aggravated",
        subtype="youth_reckless_misuse",
        police="recommended",
    ),
    S(
        "an AI-altered image of a pupil made by a peer, without her knowledge",
        triage={"ai_generated_or_altered": "yes"},
        risk={"without_consent": "yes"},
        classification="aggravated",
        subtype="youth_reckless_misuse",
        police="recommended",
    ),
    S(
        "an AI-altered image made to humiliate a pupil",
        triage={"ai_generated_or_altered": "yes"},
        risk={"without_consent": "yes", "intent_to_harm": "yes"},
        classification="aggravated",
        subtype="youth_intent_to_harm",
        police="recommended",
    ),
    S(
        "a school device on the school network: no site to report to",
        triage={"device_ownership": "school", "image_location_kinds": ["school_network"]},
    ),
    S(
        "on a social network: reported to the site hosting it",
        triage={"image_location_kinds": ["device", "site_or_app"]},
        also=frozenset({"hosting_site"}),
    ),
    S(
        "public online",
        triage={"how_widely_shared": "public_online"},
        also=frozenset({"hosting_site"}),
    ),
    S(
        "the DSL concludes high risk",
        risk={"conclusion": "high"},
        also=frozenset({"childrens_social_care"}),
    ),
    S(
        "intent to harm, adult involvement unknown",
        triage={"adult_involvement": "unknown", "coercion_blackmail_or_grooming": "yes"},
        classification="aggravated",
        subtype="",
        criteria_met=frozenset({2}),
        police="required",
        also=frozenset({"ceop", "childrens_social_care"}),
        missing=frozenset({"adult_involvement"}),
    ),
    S(
        "no risk assessment yet, triage clear",
        risk=None,
        classification="undetermined",
        subtype="",
        missing=frozenset(
            {
                "intent_to_harm",
                "willing_or_coerced",
                "without_consent",
                "spread_beyond_intended_recipient",
            }
        ),
    ),
    S(
        "an adult, and a young person at immediate risk",
        triage={**ADULT, "immediate_risk_of_harm": "yes"},
        classification="aggravated",
        subtype="adult_involved",
        criteria_met=frozenset({1, 5}),
        police="required",
        also=frozenset({"ceop", "childrens_social_care"}),
    ),
]


def test_the_table_holds_at_least_25_scenarios() -> None:
    assert len(SCENARIOS) >= 25
    assert len({s.name for s in SCENARIOS}) == len(SCENARIOS)


RUNS = [(s, v) for s in SCENARIOS for v in s.versions]


@pytest.mark.parametrize(("scenario", "version"), RUNS, ids=[f"{v}: {s.name}" for s, v in RUNS])
def test_scenario(scenario: Scenario, version: str) -> None:
    result = assess(scenario.facts(version), version)
    assert (result.classification, result.subtype) == (scenario.classification, scenario.subtype)
    assert {c.number for c in result.criteria_met()} == scenario.criteria_met
    actions = {a.action: a for a in result.actions}
    assert actions["police"].level == scenario.police
    assert set(actions) == {"police", *ALWAYS, *scenario.also}
    assert set(result.missing_facts) == scenario.missing
    assert result.policy_version == version


def test_the_current_version_is_uk_2024_3_and_the_trusts_default() -> None:
    from shared.trust import load_trust

    assert CURRENT == UK_2024_3
    assert load_trust().policy_version == CURRENT


def test_a_required_police_referral_cannot_be_declined_and_is_immediate() -> None:
    result = assess(S("adult", triage=ADULT).facts(), CURRENT)
    police = next(a for a in result.actions if a.action == "police")
    assert (police.level, police.declinable, police.due_within_minutes) == ("required", False, 60)
    assert "adult" in police.why


def test_each_criterion_names_the_facts_that_decided_it() -> None:
    result = assess(
        S("", triage={"capacity_to_consent_concerns": "yes", "sexual_acts": "unknown"}).facts(),
        CURRENT,
    )
    by_number = {c.number: c for c in result.criteria}
    assert by_number[2].decided_by == ("capacity_to_consent_concerns",)
    assert (by_number[4].status, by_number[4].decided_by) == ("not_met", ("pictured_under_13",))
    assert (by_number[1].status, by_number[1].decided_by) == ("not_met", ("adult_involvement",))


def test_nothing_known_leaves_every_criterion_unknown() -> None:
    result = assess(CaseFacts(), CURRENT)
    assert result.classification == "undetermined"
    assert {c.status for c in result.criteria} == {"unknown"}
    assert "adult_involvement" in result.missing_facts


def test_same_facts_and_version_give_the_same_assessment_byte_for_byte() -> None:
    forwards = {"triage": {**CLEAR, "adult_involvement": "suspected"}, "young_people": []}
    backwards = {
        "young_people": [],
        "triage": dict(reversed(list({**CLEAR, "adult_involvement": "suspected"}.items()))),
    }
    facts = [CaseFacts.of(forwards), CaseFacts.of(backwards)]
    assert facts[0] == facts[1]
    runs = {assess(f, CURRENT).canonical() for f in facts for _ in range(25)}
    assert len(runs) == 1


def test_the_first_version_still_runs_as_it_did() -> None:
    """uk-2024.1 classified nothing; assessments recorded under it must still replay."""
    result = assess(CaseFacts.of({"triage": {"adult_involvement": "no"}}), "uk-2024.1")
    assert result.classification == "undetermined"
    assert result.missing_facts == tuple(f for f in DECIDING_FACTS if f != "adult_involvement")
    assert (result.criteria, result.actions) == ((), ())


def test_an_unknown_policy_version_is_refused() -> None:
    with pytest.raises(UnknownPolicyVersionError):
        assess(CaseFacts(), "uk-1999.1")


# uk-2024.3: what is known of the imagery, as two facts.

CONSENT = {
    "willing and with consent": {"willing_or_coerced": "willing", "without_consent": "no"},
    "coerced": {"willing_or_coerced": "coerced"},
    "without consent": {"without_consent": "yes"},
    "consent not yet known": {"willing_or_coerced": "unknown", "without_consent": "unknown"},
}


@pytest.mark.parametrize("consent", CONSENT.values(), ids=CONSENT.keys())
def test_violent_or_abusive_acts_make_the_case_aggravated_whatever_the_consent(
    consent: dict[str, str],
) -> None:
    facts = S("", triage={"violent_or_abusive_acts": "yes"}, risk=consent).facts()
    result = assess(facts, UK_2024_3)
    assert (result.classification, result.subtype) == ("aggravated", "youth_intent_to_harm")
    assert result.classification_reason.startswith(
        "violent_or_abusive_acts is yes: violent or abusive acts are an abusive element beyond "
        "the image's creation, aggravated whatever the consent"
    )


@pytest.mark.parametrize(
    ("answers", "decided_by"),
    [
        ({"violent_or_abusive_acts": "yes"}, ("violent_or_abusive_acts",)),
        ({"acts_unusual_for_development": "yes"}, ("acts_unusual_for_development",)),
        (
            {"violent_or_abusive_acts": "yes", "acts_unusual_for_development": "yes"},
            ("violent_or_abusive_acts", "acts_unusual_for_development"),
        ),
        (
            {"violent_or_abusive_acts": "yes", "acts_unusual_for_development": "unknown"},
            ("violent_or_abusive_acts",),
        ),
    ],
    ids=["violent", "unusual", "both", "violent, unusual unknown"],
)
def test_either_act_meets_criterion_3_and_is_named_as_deciding_it(
    answers: dict[str, str], decided_by: tuple[str, ...]
) -> None:
    result = assess(S("", triage=answers).facts(), UK_2024_3)
    criterion = next(c for c in result.criteria if c.number == 3)
    assert (criterion.status, criterion.decided_by) == ("met", decided_by)
    police = next(a for a in result.actions if a.action == "police")
    assert (police.level, police.declinable, police.due_within_minutes) == ("required", False, 60)
    assert "criterion 3" in police.why


def test_neither_act_leaves_criterion_3_not_met_decided_by_both() -> None:
    result = assess(S("").facts(), UK_2024_3)
    criterion = next(c for c in result.criteria if c.number == 3)
    assert (criterion.status, criterion.decided_by) == (
        "not_met",
        ("violent_or_abusive_acts", "acts_unusual_for_development"),
    )


@pytest.mark.parametrize(
    ("answer", "status", "decided_by"),
    [
        ("yes", "met", ("acts_unusual_or_violent",)),
        ("no", "not_met", ("acts_unusual_or_violent",)),
        ("unknown", "unknown", ("violent_or_abusive_acts", "acts_unusual_for_development")),
    ],
)
def test_a_triage_asked_as_one_question_decides_criterion_3_by_its_one_answer(
    answer: str, status: str, decided_by: tuple[str, ...]
) -> None:
    facts = S("", triage={"acts_unusual_or_violent": answer}, asked_as_one=True).facts()
    criterion = next(c for c in assess(facts, UK_2024_3).criteria if c.number == 3)
    assert (criterion.status, criterion.decided_by) == (status, decided_by)


def test_an_old_yes_is_never_read_as_violent_acts() -> None:
    """The one answer may have meant unusual acts only: it does not aggravate the case."""
    facts = S("", triage={"acts_unusual_or_violent": "yes"}, asked_as_one=True).facts()
    result = assess(facts, UK_2024_3)
    assert result.classification != "aggravated"
    assert "violent_or_abusive_acts" in result.missing_facts


REASONS = {
    "an adult": ({"adult_involvement": "suspected"}, {}, "adult_involvement is suspected: "),
    "coercion": (
        {"coercion_blackmail_or_grooming": "yes"},
        {},
        "coercion_blackmail_or_grooming is yes: ",
    ),
    "violent acts and intent to harm": (
        {"violent_or_abusive_acts": "yes"},
        {"intent_to_harm": "yes"},
        "violent_or_abusive_acts is yes: violent or abusive acts are an abusive element beyond "
        "the image's creation, aggravated whatever the consent; intent_to_harm is yes: ",
    ),
    "reckless misuse": ({}, {"without_consent": "yes"}, "without_consent is yes: "),
    "experimental": ({}, {}, "experimental_context is romantic; nothing aggravating is known"),
}


@pytest.mark.parametrize(("triage", "risk", "reason"), REASONS.values(), ids=REASONS.keys())
def test_each_classification_states_its_reason_naming_the_facts(
    triage: dict[str, str], risk: dict[str, str], reason: str
) -> None:
    result = assess(S("", triage=triage, risk=risk).facts(), UK_2024_3)
    assert result.classification_reason.startswith(reason)
    assert json.loads(result.canonical())["classification_reason"] == result.classification_reason


def test_an_undetermined_case_states_no_reason_and_earlier_versions_none() -> None:
    unknown = assess(S("", triage={"adult_involvement": "unknown"}).facts(), UK_2024_3)
    assert (unknown.classification, unknown.classification_reason) == ("undetermined", "")
    assert "classification_reason" not in json.loads(unknown.canonical())
    earlier = assess(S("", triage=ADULT).facts(UK_2024_2), UK_2024_2)
    assert "classification_reason" not in json.loads(earlier.canonical())
