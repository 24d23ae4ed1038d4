"""Review's own entries over HTTP, for the school's DSL and head: policy step 7, containing
the incident (support, staff informed, parents spoken to, education, removal help, the hosting
site's removal); step 8, the review of outcomes and procedures, closing the case and reopening
it; and the child-protection file sent to a young person's new school, with the receiving
school's confirmation of receipt.

One route per declared kind (:mod:`services.review.domain.own_entries`), its body made from the
declaration: every free-text field is :data:`~shared.imagery.FreeText`, facts about an image,
never one. Each POST takes an ``Idempotency-Key`` (a retry answers 200 with the first
attempt's entry) and ``If-Match`` (the ``ETag`` of ``GET /cases/{id}``; 409 if the case
changed meanwhile).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.review.adapters.export import TransferOut
from services.review.domain import CaseRecord
from services.review.domain.case_view import case_view
from services.review.domain.containment import CONTAINMENT
from services.review.domain.file_transfer import FILE_TRANSFER
from services.review.domain.review_and_closure import REVIEW_AND_CLOSURE
from services.review.entrypoint.common import StepEntryOut, own_entry_route

__all__ = ["TransferEntryOut"]


@dataclass(frozen=True)
class TransferEntryOut(StepEntryOut):
    """The entry recorded, and the transfer as it now stands (deadline, confirmation, overdue);
    the case's new version is the ``ETag``."""

    transfer: TransferOut

    @classmethod
    def besides(
        cls, entry: CaseRecord.EntryRecorded, record: CaseRecord, now: datetime
    ) -> dict[str, Any]:
        """The transfer the entry records the sending or the receipt of (entry numbers are
        unique in a case)."""
        view = case_view(record, now=now)
        transfer = next(
            t for t in view.transfers if entry.number in (t.number, t.confirmation_number)
        )
        return {"transfer": TransferOut.of(transfer, view.now)}


for kind in (*CONTAINMENT, *REVIEW_AND_CLOSURE):
    own_entry_route(kind)
for kind in FILE_TRANSFER:
    own_entry_route(kind, out=TransferEntryOut, tags=["transfers"])
