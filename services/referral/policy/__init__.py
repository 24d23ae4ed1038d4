"""The referral policy as pure, deterministic functions of the recorded facts and a version.

A replay years later must reproduce the decision taken then, so every version stays runnable and
each assessment records the version that produced it, and the facts it read.
"""

from __future__ import annotations

from collections.abc import Callable

from services.referral.policy import uk_2024_1, uk_2024_2, uk_2024_3
from services.referral.policy.facts import (
    UNKNOWN,
    Assessment,
    CaseFacts,
    Criterion,
    RequiredAction,
)

__all__ = [
    "CURRENT",
    "POLICIES",
    "UNKNOWN",
    "Assessment",
    "CaseFacts",
    "Criterion",
    "RequiredAction",
    "UnknownPolicyVersionError",
    "assess",
]

POLICIES: dict[str, Callable[[CaseFacts], Assessment]] = {
    uk_2024_1.VERSION: uk_2024_1.assess,
    uk_2024_2.VERSION: uk_2024_2.assess,
    uk_2024_3.VERSION: uk_2024_3.assess,
}
CURRENT = uk_2024_3.VERSION
"""The version new assessments are made under."""


class UnknownPolicyVersionError(LookupError):
    """No policy of that version exists in this build."""


def assess(facts: CaseFacts, policy_version: str) -> Assessment:
    """Assess ``facts`` under ``policy_version``; the same inputs always give the same answer."""
    try:
        policy = POLICIES[policy_version]
    except KeyError:
        raise UnknownPolicyVersionError(policy_version) from None
    return policy(facts)
