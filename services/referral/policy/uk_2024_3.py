"""Policy uk-2024.3: uk-2024.2, with what is known of the imagery read as two facts (issue 12).

The national guidance (UKCIS 2020, updated 2024) makes it an immediate-referral criterion (3)
that what is known of the imagery suggests acts unusual for the young person's developmental
stage, *or* violent acts; and the school policy (appendix 8) calls aggravated any incident with
"criminal or abusive elements beyond the creation of an image ... such as sexual abuse". So:

* ``violent_or_abusive_acts``: meets criterion 3, and makes the case aggravated, youth only with
  intent to harm (Wolak and Finkelhor count sexual abuse by a young person as intent to harm),
  whatever the consent: a willing exchange of imagery of violent or abusive acts is still abuse.
* ``acts_unusual_for_development``: meets criterion 3; on its own it does not aggravate.

Every classification also states its reason, naming the facts that decided it.

Everything else is uk-2024.2's, used from there: a released version never changes, so what this
one shares with it stays as it was.
"""

from __future__ import annotations

from services.referral.policy import uk_2024_2
from services.referral.policy.facts import (
    UNKNOWN,
    Assessment,
    CaseFacts,
    Criterion,
)

VERSION = "uk-2024.3"

VIOLENT = "violent_or_abusive_acts"
UNUSUAL = "acts_unusual_for_development"
ASKED_AS_ONE = "acts_unusual_or_violent"
"""The one question a triage recorded before this version asked instead of the two."""

INTENT_TO_HARM = (("triage", VIOLENT, "yes", "no"), *uk_2024_2.INTENT_TO_HARM)
RECKLESS_MISUSE = uk_2024_2.RECKLESS_MISUSE
EXPERIMENTAL_SUBTYPES = uk_2024_2.EXPERIMENTAL_SUBTYPES

# Why each fact that shows it makes a case aggravated, in words.
WHY_AGGRAVATED = {
    VIOLENT: "violent or abusive acts are an abusive element beyond the image's creation, "
    "aggravated whatever the consent",
    "coercion_blackmail_or_grooming": "coercion, blackmail or grooming shows intent to harm",
    "financially_motivated_extortion": "extortion shows intent to harm",
    "intent_to_harm": "the DSL found conflict, extortion, threats, malice or abuse (intent to "
    "harm)",
    "willing_or_coerced": "a young person was coerced (intent to harm)",
    "without_consent": "taken, sent or shown without the pictured young person's knowledge or "
    "against their will (reckless misuse)",
    "spread_beyond_intended_recipient": "shared beyond the one it was sent to (reckless misuse)",
}


def assess(facts: CaseFacts) -> Assessment:
    classification, subtype, missing, reason = classify(facts)
    return uk_2024_2.assessment(
        facts,
        VERSION,
        (classification, subtype, missing),
        immediate_referral_criteria(facts),
        reason,
    )


def asked_as_one(facts: CaseFacts) -> str | None:
    """The one answer of a latest triage recorded before the two facts were asked apart
    (``acts_unusual_or_violent``), else None."""
    if facts.asked(VIOLENT) or facts.asked(UNUSUAL) or not facts.asked(ASKED_AS_ONE):
        return None
    return str(facts.triage(ASKED_AS_ONE))


def acts(facts: CaseFacts) -> dict[str, str]:
    """The two facts of what is known of the imagery, as the latest triage answered them.

    A triage recorded before they were asked apart answered ``acts_unusual_or_violent``
    only. Its "no" ruled out both. Its "yes" said that one of them held, not which: both
    stay unknown here, so that the DSL is asked them (they are missing facts, and an unknown
    violent act keeps the case from being called experimental), while :func:`acts_criterion`
    still counts the "yes" as meeting criterion 3, which either of the two would. That is the
    safest reading for the child: the immediate referral it required stays required, and the
    case is not called aggravated on an answer that may have meant unusual acts only (the
    DSL's answer to the new question decides that)."""
    one = asked_as_one(facts)
    if one is None:
        return {VIOLENT: str(facts.triage(VIOLENT)), UNUSUAL: str(facts.triage(UNUSUAL))}
    each = "no" if one == "no" else UNKNOWN
    return {VIOLENT: each, UNUSUAL: each}


def _value(facts: CaseFacts, source: str, fact: str) -> str:
    if fact == VIOLENT:
        return acts(facts)[VIOLENT]
    return str(facts.triage(fact) if source == "triage" else facts.risk(fact))


def _signal(
    facts: CaseFacts, signals: tuple[tuple[str, str, str, str], ...]
) -> tuple[str, list[str], list[str]]:
    """``yes`` with the facts that show it, ``no`` if every fact rules it out, else
    ``unknown`` with the facts still unknown."""
    shown = [f for s, f, shows, _ in signals if _value(facts, s, f) == shows]
    if shown:
        return "yes", shown, []
    unknown = [f for s, f, _, rules_out in signals if _value(facts, s, f) != rules_out]
    return ("no", [], []) if not unknown else (UNKNOWN, [], unknown)


def _because(
    facts: CaseFacts, signals: tuple[tuple[str, str, str, str], ...], shown: list[str]
) -> str:
    """The reason for an aggravated classification: each fact that shows it, and why."""
    values = {f: _value(facts, s, f) for s, f, _, _ in signals}
    return "; ".join(f"{f} is {values[f]}: {WHY_AGGRAVATED[f]}" for f in shown)


def classify(facts: CaseFacts) -> tuple[str, str, list[str], str]:
    """Wolak and Finkelhor: the classification, its subtype, the facts still missing, and the
    reason, naming the facts that decided it."""
    adult = facts.triage("adult_involvement")
    if adult in ("yes", "suspected"):
        why = f"adult_involvement is {adult}: any possible adult involvement is aggravated"
        return "aggravated", "adult_involved", [], why
    adult_missing = ["adult_involvement"] if adult != "no" else []
    intent, shown, intent_missing = _signal(facts, INTENT_TO_HARM)
    if intent == "yes":
        # Aggravated whoever did it; "youth only" once an adult is ruled out.
        subtype = "" if adult_missing else "youth_intent_to_harm"
        return "aggravated", subtype, adult_missing, _because(facts, INTENT_TO_HARM, shown)
    reckless, shown, reckless_missing = _signal(facts, RECKLESS_MISUSE)
    if reckless == "yes":
        subtype = "" if adult_missing else "youth_reckless_misuse"
        return "aggravated", subtype, adult_missing, _because(facts, RECKLESS_MISUSE, shown)
    missing = [*adult_missing, *intent_missing, *reckless_missing]
    if missing:
        return "undetermined", "", missing, ""
    context = facts.risk("experimental_context")
    why = (
        "nothing aggravating is known: no adult, intent to harm, violent or abusive acts, or misuse"
    )
    if context in EXPERIMENTAL_SUBTYPES:
        return "experimental", context, [], f"experimental_context is {context}; {why}"
    return "experimental", "", ["experimental_context"], why


def acts_criterion(facts: CaseFacts) -> Criterion:
    """Criterion 3: what is known of the imagery suggests acts unusual for the young person's
    developmental stage, or violent acts. Either fact that is yes meets it, and is named as
    deciding it; an earlier triage's one answer decides it, and is named, when it is yes or no."""
    name = "acts_unusual_or_violent"
    one = asked_as_one(facts)
    if one in ("yes", "no"):
        return Criterion(3, name, "met" if one == "yes" else "not_met", (ASKED_AS_ONE,))
    values = acts(facts)
    met = tuple(f for f, v in values.items() if v == "yes")
    if met:
        return Criterion(3, name, "met", met)
    unknown = tuple(f for f, v in values.items() if v == UNKNOWN)
    if unknown:
        return Criterion(3, name, UNKNOWN, unknown)
    return Criterion(3, name, "not_met", tuple(values))


def immediate_referral_criteria(facts: CaseFacts) -> tuple[Criterion, ...]:
    """The five UKCIS criteria for an immediate referral: uk-2024.2's, with criterion 3 read
    from the two facts."""
    return tuple(
        acts_criterion(facts) if c.number == 3 else c
        for c in uk_2024_2.immediate_referral_criteria(facts)
    )
