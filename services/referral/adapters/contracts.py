"""Referral's stored events, as the contracts other services read."""

from __future__ import annotations

from services.referral.domain import Referral
from shared.contracts.referral import (
    ActionCompletedV1,
    ActionDeclinedV1,
    ActionEscalatedV1,
    AssessmentRecordedV1,
    ClassificationOverriddenV1,
    PoliceOutcomeRecordedV1,
    RiskAssessedV1,
    SafeguardRecordedV1,
)
from shared.relay import Publishes, contract_mapper

_PUBLISHES: dict[type, Publishes] = {
    Referral.AssessmentRecorded: Publishes(
        AssessmentRecordedV1, {"number": "assessment_number"}, spread="outcome"
    ),
    Referral.ActionCompleted: Publishes(ActionCompletedV1),
    Referral.ActionDeclined: Publishes(ActionDeclinedV1),
    Referral.ClassificationOverridden: Publishes(ClassificationOverriddenV1),
    Referral.RiskAssessed: Publishes(RiskAssessedV1),
    Referral.SafeguardRecorded: Publishes(SafeguardRecordedV1),
    Referral.PoliceOutcomeRecorded: Publishes(PoliceOutcomeRecordedV1),
    Referral.ActionEscalated: Publishes(ActionEscalatedV1),
}

PUBLISHED = tuple(_PUBLISHES)
"""The stored events other services see; every other event is private to referral."""

to_contract = contract_mapper(_PUBLISHES)
"""The contract a stored event is published as; None for events private to referral."""
