"""The referral policy is a pure function of facts and a version."""

from __future__ import annotations

import pickle

import pytest

from services.referral.policy import DECIDING_FACTS, CaseFacts, UnknownPolicyVersionError, assess


def test_same_facts_and_version_give_the_same_assessment_byte_for_byte() -> None:
    facts = CaseFacts(known=(("adult_involvement", "no"),))
    runs = {pickle.dumps(assess(facts, "uk-2024.1")) for _ in range(50)}
    assert len(runs) == 1


def test_a_disclosure_without_triage_is_undetermined_and_names_what_is_missing() -> None:
    result = assess(CaseFacts(), "uk-2024.1")
    assert result.classification == "undetermined"
    assert result.missing_facts == DECIDING_FACTS
    assert result.policy_version == "uk-2024.1"


def test_known_facts_are_not_listed_as_missing() -> None:
    result = assess(
        CaseFacts(known=(("adult_involvement", "no"), ("intent_to_harm", "unknown"))), "uk-2024.1"
    )
    assert "adult_involvement" not in result.missing_facts
    assert "intent_to_harm" in result.missing_facts


def test_an_unknown_policy_version_is_refused() -> None:
    with pytest.raises(UnknownPolicyVersionError):
        assess(CaseFacts(), "uk-1999.1")
