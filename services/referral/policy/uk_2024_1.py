"""Policy uk-2024.1: the first build's placeholder. It classified nothing and only named the
deciding facts still missing. Kept runnable so that assessments recorded under it replay."""

from __future__ import annotations

from services.referral.policy.facts import UNKNOWN, Assessment, CaseFacts

VERSION = "uk-2024.1"

DECIDING_FACTS = (
    "adult_involvement",
    "coercion_blackmail_or_grooming",
    "capacity_to_consent_concerns",
    "acts_unusual_or_violent",
    "pictured_under_13",
    "immediate_risk_of_harm",
    "intent_to_harm",
    "taken_or_shared_without_consent",
)


def assess(facts: CaseFacts) -> Assessment:
    missing = tuple(f for f in DECIDING_FACTS if facts.triage(f) == UNKNOWN)
    return Assessment(classification="undetermined", missing_facts=missing, policy_version=VERSION)
