"""Referral's stored events, as the contracts other services read."""

from __future__ import annotations

from services.referral.domain import Referral
from shared.contracts import Contract
from shared.contracts.referral import AssessmentRecordedV1

PUBLISHED = (Referral.AssessmentRecorded,)
"""The stored events other services see; every other event is private to referral."""


def to_contract(domain_event: object) -> Contract | None:
    """The contract a stored event is published as; None for events private to referral."""
    if isinstance(domain_event, Referral.AssessmentRecorded):
        return AssessmentRecordedV1(
            case_id=domain_event.originator_id,
            school=domain_event.school,
            reference=domain_event.reference,
            assessment_number=domain_event.number,
            classification=domain_event.classification,
            missing_facts=tuple(domain_event.missing_facts),
            policy_version=domain_event.policy_version,
            caused_by=domain_event.caused_by,
            recorded_by=domain_event.recorded_by,
            occurred_at=domain_event.occurred_at,
            recorded_at=domain_event.recorded_at,
        )
    return None
