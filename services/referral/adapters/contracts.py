"""Referral's stored events, as the contracts other services read."""

from __future__ import annotations

import json

from services.referral.domain import (
    ENTRY_KINDS,
    ActionCompleted,
    ActionDeclined,
    ClassificationOverridden,
    PoliceOutcomeRecorded,
    Referral,
    RiskAssessed,
    SafeguardRecorded,
)
from shared.contracts import Contract
from shared.contracts.referral import (
    ActionCompletedV1,
    ActionDeclinedV1,
    ActionEscalatedV1,
    ActionStateV1,
    AssessmentRecordedV1,
    ClassificationOverriddenV1,
    PoliceOutcomeRecordedV1,
    ReferralEntryRecordedV1,
    RiskAssessedV1,
    SafeguardRecordedV1,
)
from shared.publishing import Publishes, contract_mapper

_PUBLISHES: dict[type, Publishes] = {
    Referral.AssessmentRecorded: Publishes(
        AssessmentRecordedV1, {"number": "assessment_number"}, spread="outcome"
    ),
    ActionCompleted: Publishes(ActionCompletedV1),
    ActionDeclined: Publishes(ActionDeclinedV1),
    ClassificationOverridden: Publishes(ClassificationOverriddenV1),
    RiskAssessed: Publishes(RiskAssessedV1),
    SafeguardRecorded: Publishes(SafeguardRecordedV1),
    PoliceOutcomeRecorded: Publishes(PoliceOutcomeRecordedV1),
    Referral.ActionEscalated: Publishes(ActionEscalatedV1),
}

PUBLISHED = (*_PUBLISHES, *(kind for kind in ENTRY_KINDS if kind not in _PUBLISHES))
"""The stored events other services see: each in the table as its contract, and every other
kind of entry by its declaration (:class:`ReferralEntryRecordedV1`); every other event is
private to referral."""

_mapped = contract_mapper(_PUBLISHES, declared=ReferralEntryRecordedV1)


def to_contract(domain_event: object) -> Contract | None:
    """The contract a stored event is published as; None for events private to referral.

    An assessment's actions' states are stored as JSON text (like its outcome), which the
    table's copy by name does not read: they are published as ``actions_after``, and not at all
    (null) for an assessment recorded before they were kept."""
    contract = _mapped(domain_event)
    if isinstance(domain_event, Referral.AssessmentRecorded) and domain_event.action_states:
        assert contract is not None
        states = json.loads(domain_event.action_states)
        after = tuple(ActionStateV1.model_validate(state) for state in states)
        return contract.model_copy(update={"actions_after": after})
    return contract
