"""Policy uk-2024.2: the school policy (appendix 8) read with the UKCIS guidance of 2020,
updated 2024, and the typology of Wolak and Finkelhor (2011).

Pure functions of the recorded facts. Once released, a version never changes: a changed rule is
a new version, and this one stays runnable so that its assessments replay.
"""

from __future__ import annotations

from services.referral.policy.facts import (
    UNKNOWN,
    Assessment,
    CaseFacts,
    Criterion,
    RequiredAction,
)

VERSION = "uk-2024.2"

IMMEDIATE = 60
"""Minutes for an immediate referral (the guidance: "immediately"): within the hour."""
WITHIN_A_DAY = 24 * 60

# Facts that show intent to harm (Wolak: conflict, extortion, threats, malice, abuse), and the
# value each takes when it does.
INTENT_TO_HARM = (
    ("triage", "coercion_blackmail_or_grooming", "yes", "no"),
    ("triage", "financially_motivated_extortion", "yes", "no"),
    ("risk", "intent_to_harm", "yes", "no"),
    ("risk", "willing_or_coerced", "coerced", "willing"),
)
# Facts that show reckless misuse: taken, sent or shown without the pictured young person's
# knowledge or against their will.
RECKLESS_MISUSE = (
    ("risk", "without_consent", "yes", "no"),
    ("risk", "spread_beyond_intended_recipient", "yes", "no"),
)
EXPERIMENTAL_SUBTYPES = ("romantic", "sexual_attention_seeking", "other")


def assess(facts: CaseFacts) -> Assessment:
    classification, subtype, missing = classify(facts)
    return assessment(
        facts, VERSION, (classification, subtype, missing), immediate_referral_criteria(facts)
    )


def assessment(
    facts: CaseFacts,
    version: str,
    classified: tuple[str, str, list[str]],
    criteria: tuple[Criterion, ...],
    reason: str = "",
) -> Assessment:
    """The assessment under ``version`` of a classification (with its subtype and the facts
    it lacked) and the criteria: every fact still missing, once, and the actions they require.
    """
    classification, subtype, classification_missing = classified
    criteria_missing = [f for c in criteria if c.status == UNKNOWN for f in c.decided_by]
    missing = tuple(dict.fromkeys([*classification_missing, *criteria_missing]))
    return Assessment(
        classification=classification,
        subtype=subtype,
        missing_facts=missing,
        policy_version=version,
        criteria=criteria,
        actions=required_actions(facts, classification, criteria),
        classification_reason=reason,
    )


def _value(facts: CaseFacts, source: str, fact: str) -> str:
    return str(facts.triage(fact) if source == "triage" else facts.risk(fact))


def _signal(
    facts: CaseFacts, signals: tuple[tuple[str, str, str, str], ...]
) -> tuple[str, list[str]]:
    """``yes`` if any fact shows it, ``no`` if every fact rules it out, else ``unknown`` with
    the facts still unknown."""
    if any(_value(facts, s, f) == shows for s, f, shows, _ in signals):
        return "yes", []
    unknown = [f for s, f, _, rules_out in signals if _value(facts, s, f) != rules_out]
    return ("no", []) if not unknown else (UNKNOWN, unknown)


def classify(facts: CaseFacts) -> tuple[str, str, list[str]]:
    """Wolak and Finkelhor: the classification, its subtype, and the facts still missing."""
    adult = facts.triage("adult_involvement")
    if adult in ("yes", "suspected"):
        return "aggravated", "adult_involved", []
    adult_missing = ["adult_involvement"] if adult != "no" else []
    intent, intent_missing = _signal(facts, INTENT_TO_HARM)
    if intent == "yes":
        # Aggravated whoever did it; "youth only" once an adult is ruled out.
        return "aggravated", "" if adult_missing else "youth_intent_to_harm", adult_missing
    reckless, reckless_missing = _signal(facts, RECKLESS_MISUSE)
    if reckless == "yes":
        return "aggravated", "" if adult_missing else "youth_reckless_misuse", adult_missing
    missing = [*adult_missing, *intent_missing, *reckless_missing]
    if missing:
        return "undetermined", "", missing
    context = facts.risk("experimental_context")
    if context in EXPERIMENTAL_SUBTYPES:
        return "experimental", context, []
    return "experimental", "", ["experimental_context"]


def pictured_under_13(facts: CaseFacts) -> str:
    """The triage's answer, or a pictured young person's recorded age: under 13 wins."""
    pictured = [p for p in facts.young_people() if "pictured" in p.get("roles", [])]
    ages = [p.get("age") for p in pictured]
    answer = facts.triage("pictured_under_13")
    if answer == "yes" or any(isinstance(a, int) and a < 13 for a in ages):
        return "yes"
    if answer == "no" or (pictured and all(isinstance(a, int) for a in ages)):
        return "no"
    return UNKNOWN


def _any_of(number: int, name: str, values: dict[str, str], meets: tuple[str, ...]) -> Criterion:
    met = tuple(f for f, v in values.items() if v in meets)
    if met:
        return Criterion(number, name, "met", met)
    unknown = tuple(f for f, v in values.items() if v == UNKNOWN)
    if unknown:
        return Criterion(number, name, UNKNOWN, unknown)
    return Criterion(number, name, "not_met", tuple(values))


def immediate_referral_criteria(facts: CaseFacts) -> tuple[Criterion, ...]:
    """The five UKCIS criteria for an immediate referral to police and/or social care."""
    t = facts.triage
    under_13 = pictured_under_13(facts)
    sexual_acts = t("sexual_acts")
    if sexual_acts == "yes" and under_13 == "yes":
        criterion_4 = Criterion(
            4, "sexual_acts_under_13", "met", ("sexual_acts", "pictured_under_13")
        )
    elif "no" in (sexual_acts, under_13):
        decided = tuple(
            f
            for f, v in (("sexual_acts", sexual_acts), ("pictured_under_13", under_13))
            if v == "no"
        )
        criterion_4 = Criterion(4, "sexual_acts_under_13", "not_met", decided)
    else:
        decided = tuple(
            f
            for f, v in (("sexual_acts", sexual_acts), ("pictured_under_13", under_13))
            if v == UNKNOWN
        )
        criterion_4 = Criterion(4, "sexual_acts_under_13", UNKNOWN, decided)
    return (
        _any_of(
            1, "adult_involved", {"adult_involvement": t("adult_involvement")}, ("yes", "suspected")
        ),
        _any_of(
            2,
            "coerced_blackmailed_groomed_or_capacity_to_consent",
            {
                "coercion_blackmail_or_grooming": t("coercion_blackmail_or_grooming"),
                "capacity_to_consent_concerns": t("capacity_to_consent_concerns"),
            },
            ("yes",),
        ),
        _any_of(
            3,
            "acts_unusual_or_violent",
            {"acts_unusual_or_violent": t("acts_unusual_or_violent")},
            ("yes",),
        ),
        criterion_4,
        _any_of(
            5,
            "immediate_risk_of_harm",
            {"immediate_risk_of_harm": t("immediate_risk_of_harm")},
            ("yes",),
        ),
    )


def required_actions(
    facts: CaseFacts, classification: str, criteria: tuple[Criterion, ...]
) -> tuple[RequiredAction, ...]:
    """Who must be told, by when, and why; in a fixed order."""
    t = facts.triage
    adult = t("adult_involvement") in ("yes", "suspected")
    met = ", ".join(f"{c.number} ({c.name})" for c in criteria if c.status == "met")
    abuse = [
        f
        for f in ("coercion_blackmail_or_grooming", "financially_motivated_extortion")
        if t(f) == "yes"
    ]
    kinds = t("image_location_kinds")
    on_a_site = (isinstance(kinds, list) and "site_or_app" in kinds) or (
        t("how_widely_shared") == "public_online"
    )
    actions: list[RequiredAction] = []

    def add(
        action: str, level: str, why: str, due: int = WITHIN_A_DAY, *, declinable: bool = True
    ) -> None:
        actions.append(RequiredAction(action, level, why, due, declinable))

    if adult:
        add(
            "police",
            "required",
            "possible adult involvement is always referred to the police",
            IMMEDIATE,
            declinable=False,
        )
    elif met:
        add(
            "police",
            "required",
            f"immediate referral: criterion {met} met",
            IMMEDIATE,
            declinable=False,
        )
    elif classification == "aggravated":
        add("police", "recommended", "aggravated: almost always referred to the police")
    else:
        add(
            "police",
            "dsl_decides",
            f"{classification}: the DSL decides; not referring needs written reasons",
        )

    if adult:
        add("ceop", "required", "online contact by an adult: report to CEOP")
    elif abuse:
        add("ceop", "required", f"a young person may be at risk of abuse ({', '.join(abuse)})")

    if met:
        add(
            "childrens_social_care",
            "required",
            f"immediate referral: criterion {met} met",
            IMMEDIATE,
        )
    elif facts.risk("conclusion") == "high":
        add("childrens_social_care", "required", "the DSL's risk assessment concluded high risk")

    add(
        "parents_or_carers",
        "required",
        "told unless that would put the young person at risk, with the reason recorded",
    )
    if on_a_site:
        add(
            "hosting_site",
            "required",
            "the image is on a website or social network: report it to the site hosting it",
        )
    add("senior_management", "required", "senior management is always informed", declinable=False)
    add(
        "dsl_record",
        "required",
        "the DSL always records the incident and each decision",
        declinable=False,
    )
    return tuple(actions)
