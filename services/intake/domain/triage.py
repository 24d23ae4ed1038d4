"""Step 1 triage: the questions and their allowed answers."""

from __future__ import annotations

from typing import Any

from services.intake.domain.errors import IntakeError

UNKNOWN = "unknown"
YES_NO = ("yes", "no", UNKNOWN)

# Step 1 of the policy: the nine triage questions, each answered or "unknown".
STEP_1_QUESTIONS: dict[str, tuple[str, ...]] = {
    "disclosing_about": ("receiving", "sending", "sharing", UNKNOWN),  # one or more
    "image_nature": ("potentially_illegal", "inappropriate", UNKNOWN),
    "ai_generated_or_altered": YES_NO,
    "dsl_consulted": YES_NO,
    "how_widely_shared": (
        "not_shared",
        "one_recipient",
        "small_group",
        "widely",
        "public_online",
        UNKNOWN,
    ),
    "device_in_possession": YES_NO,
    "device_ownership": ("school", "personal", UNKNOWN),
    "immediate_support_needed": YES_NO,
    "other_young_people_involved": YES_NO,
}
# The facts that decide a referral (UKCIS immediate-referral criteria, and sextortion).
REFERRAL_FACTS: dict[str, tuple[str, ...]] = {
    "adult_involvement": ("no", "suspected", "yes", UNKNOWN),
    "coercion_blackmail_or_grooming": YES_NO,
    "capacity_to_consent_concerns": YES_NO,
    # What is known of the imagery: violent or abusive acts, or acts unusual for the young
    # person's developmental stage (criterion 3, asked apart because the policy treats them
    # apart); sexual acts (with anyone pictured under 13, criterion 4).
    "violent_or_abusive_acts": YES_NO,
    "acts_unusual_for_development": YES_NO,
    "sexual_acts": YES_NO,
    "pictured_under_13": YES_NO,
    "immediate_risk_of_harm": YES_NO,
    "financially_motivated_extortion": YES_NO,
}
TRIAGE_ANSWERS = {**STEP_1_QUESTIONS, **REFERRAL_FACTS}
ASKED_AS_ONE = "acts_unusual_or_violent"
"""The one question entries recorded before violent_or_abusive_acts and
acts_unusual_for_development were asked apart answered instead. Their answers are kept as
given, never translated: what the old answer means is each policy version's to say."""
MULTI_ANSWER = frozenset({"disclosing_about"})
IMAGE_LOCATION_KINDS = ("device", "school_network", "site_or_app", UNKNOWN)


def asked_as_one(answers: dict[str, Any]) -> bool:
    """Whether the answers were recorded before the acts in the imagery were asked apart."""
    return ASKED_AS_ONE in answers


def complete_answers(answers: dict[str, Any]) -> dict[str, Any]:
    """Every question with an allowed answer; the ones not given are unknown."""
    unknown_questions = set(answers) - set(TRIAGE_ANSWERS)
    if unknown_questions:
        msg = f"no triage question {', '.join(sorted(unknown_questions))}"
        raise IntakeError(msg)
    complete: dict[str, Any] = {}
    for question, allowed in TRIAGE_ANSWERS.items():
        given = answers.get(question, [UNKNOWN] if question in MULTI_ANSWER else UNKNOWN)
        values = list(given) if question in MULTI_ANSWER else [given]
        wrong = [v for v in values if v not in allowed]
        if wrong or not values:
            msg = f"{question}: {wrong or 'no answer'} is not one of {', '.join(allowed)}"
            raise IntakeError(msg)
        if question in MULTI_ANSWER and UNKNOWN in values and len(values) > 1:
            msg = f"{question}: unknown cannot stand with other answers"
            raise IntakeError(msg)
        complete[question] = sorted(set(values)) if question in MULTI_ANSWER else given
    return complete
