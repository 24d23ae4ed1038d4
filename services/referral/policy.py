"""The referral policy as pure, deterministic functions of the recorded facts and a version.

A replay years later must reproduce the decision taken then, so every version stays runnable and
each assessment records the version that produced it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# The facts that decide the Wolak and Finkelhor classification and the five UKCIS criteria.
# Intake records them in step 1 triage; until then they are missing.
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


@dataclass(frozen=True)
class CaseFacts:
    """What is known of a case when it is assessed."""

    known: tuple[tuple[str, str], ...] = ()

    def value(self, fact: str) -> str | None:
        return dict(self.known).get(fact)


@dataclass(frozen=True)
class Assessment:
    """The outcome of one assessment."""

    classification: str
    missing_facts: tuple[str, ...]
    policy_version: str


class UnknownPolicyVersionError(LookupError):
    """No policy of that version exists in this build."""


def _uk_2024_1(facts: CaseFacts) -> Assessment:
    missing = tuple(f for f in DECIDING_FACTS if facts.value(f) in (None, "unknown"))
    # Classification needs the triage facts; intake's triage (a later step) supplies them.
    return Assessment(
        classification="undetermined", missing_facts=missing, policy_version="uk-2024.1"
    )


POLICIES: dict[str, Callable[[CaseFacts], Assessment]] = {"uk-2024.1": _uk_2024_1}


def assess(facts: CaseFacts, policy_version: str) -> Assessment:
    """Assess ``facts`` under ``policy_version``; the same inputs always give the same answer."""
    try:
        policy = POLICIES[policy_version]
    except KeyError:
        raise UnknownPolicyVersionError(policy_version) from None
    return policy(facts)
