"""Review's own entries, as the contract it publishes; the entries it copied from intake and
referral are theirs, already on their streams, and stay private."""

from __future__ import annotations

from services.review.adapters.shown import shown
from services.review.domain import OWN_SUBJECT_PREFIX, CaseRecord
from shared.contracts import Contract
from shared.contracts.review import ReviewEntryRecordedV1

PUBLISHED = (CaseRecord.EntryRecorded,)
"""The stored events the relay reads; :func:`to_contract` picks review's own among them."""


def to_contract(domain_event: object) -> Contract | None:
    """Review's own entry as :class:`ReviewEntryRecordedV1`; None for every other event."""
    if not isinstance(domain_event, CaseRecord.EntryRecorded):
        return None
    if not domain_event.subject.startswith(OWN_SUBJECT_PREFIX):
        return None
    return shown(ReviewEntryRecordedV1, domain_event, case_id=domain_event.originator_id)
