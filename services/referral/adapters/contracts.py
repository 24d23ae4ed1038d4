"""Referral's stored events, as the contracts other services read."""

from __future__ import annotations

from services.referral.domain import Referral
from shared.contracts.referral import AssessmentRecordedV1
from shared.relay import Publishes, contract_mapper

_PUBLISHES: dict[type, Publishes] = {
    Referral.AssessmentRecorded: Publishes(
        AssessmentRecordedV1, {"number": "assessment_number"}, spread="outcome"
    ),
}

PUBLISHED = tuple(_PUBLISHES)
"""The stored events other services see; every other event is private to referral."""

to_contract = contract_mapper(_PUBLISHES)
"""The contract a stored event is published as; None for events private to referral."""
