"""A case's history exported, as PDF and as JSON, for the school's DSL and head and for auditors;
and the record of the child-protection file sent to a young person's new school, with the
receiving school's confirmation of receipt (the DSL and head).

An export is a read of the case, and is recorded as one in its chronology before it is made, so
it holds its own read. Each POST takes an ``Idempotency-Key`` (a retry answers 200 with the
first attempt's entry) and ``If-Match`` (the ``ETag`` of ``GET /cases/{id}``; 409 if the case
changed meanwhile); every free-text field is :data:`~shared.imagery.FreeText`.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Request, Response
from pydantic import Field

from services.review.application import Recorded, Recording, Reviews
from services.review.domain import CaseRecord
from services.review.entrypoint.cases import AsOf
from services.review.entrypoint.common import (
    CASE_READERS,
    Facts,
    StepEntryOut,
    own_entry_route,
    read_case,
    reviews_of,
    router,
)
from services.review.entrypoint.steps import Note, Pseudonym, Words
from services.review.exports import CaseExport, TransferOut, build_export, render_pdf
from services.review.own_entries import SecureMethod
from services.review.transfer import confirm_receipt, send_file
from services.review.views import case_view
from shared.http import CaseId, EntryIn
from shared.identity import Principal
from shared.runtime import ServiceRuntime

__all__ = ["router"]

Reader = Annotated[Principal, Depends(CASE_READERS)]

_PDF: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {}}, "description": "The case history as a PDF."}
}


@router.get(
    "/cases/{case_id}/export.pdf", response_class=Response, responses=_PDF, tags=["exports"]
)
def export_pdf(
    case_id: CaseId, request: Request, response: Response, principal: Reader, as_of: AsOf = None
) -> Response:
    """The case's history as a PDF, for an inspection, a court or the child-protection file
    that moves with a young person: the case header (school, reference, status, classification
    in force and computed, DSL, review date), transfers of the file, the hash chain verified
    when exported, and every entry in the order things happened (when it happened and was
    recorded, what, who and in which role, in words, with its hash); on every page who exported
    it, when, and the page number. With ``as_of``, the case as it stood then. This export is
    recorded as a read of the case first."""
    export = _export(request, principal, case_id, "export.pdf", as_of)
    return Response(
        render_pdf(export),
        media_type="application/pdf",
        headers={
            # What the route's dependencies said (a time read in the trust's zone): FastAPI
            # adds it only to an answer it makes itself.
            **response.headers,
            "Content-Disposition": f'attachment; filename="{_filename(export)}.pdf"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/cases/{case_id}/export.json", response_model=CaseExport, tags=["exports"])
def export_json(
    case_id: CaseId, request: Request, response: Response, principal: Reader, as_of: AsOf = None
) -> CaseExport:
    """The same history, machine-readable: each entry also with its subject, its payload
    exactly as stored and hashed, and its previous and own hash, so that the chain can be
    checked again from the export alone. This export is recorded as a read of the case first."""
    response.headers["Cache-Control"] = "no-store"
    return _export(request, principal, case_id, "export.json", as_of)


# The child-protection file sent to the young person's new school.


class TransferIn(EntryIn):
    """The DSL sent the young person's child-protection file to their new school, securely."""

    pseudonym: Pseudonym
    to_school: Words = Field(
        max_length=200,
        description="The new school: its code if in the trust, else its name and town.",
    )
    to_whom: Words = Field(
        max_length=200, description="Who there it was sent to, e.g. 'their DSL, Ms A. Invented'."
    )
    method: SecureMethod
    note: Note = ""


class ReceiptIn(EntryIn):
    """The receiving school confirmed it has the file; ``occurred_at`` is when they confirmed."""

    confirmed_by: Words = Field(
        max_length=200, description="Who at the receiving school confirmed, and their role."
    )
    transfer: int | None = Field(
        default=None,
        ge=1,
        description="The transfer confirmed: the number of the entry that recorded it; "
        "default: the latest not yet confirmed.",
    )
    note: Note = ""


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


@own_entry_route("/cases/{case_id}/transfers", TransferIn, out=TransferEntryOut, tags=["transfers"])
def record_transfer(reviews: Reviews, case_id: UUID, facts: Facts, sent: Recording) -> Recorded:
    """Records: the child-protection file sent to the young person's new school (which
    school, to whom, how it was sent securely). Its receipt is due within five school days."""
    return send_file(reviews, case_id, facts, **sent)


@own_entry_route(
    "/cases/{case_id}/transfers/confirmations", ReceiptIn, out=TransferEntryOut, tags=["transfers"]
)
def record_transfer_confirmation(
    reviews: Reviews, case_id: UUID, facts: Facts, sent: Recording
) -> Recorded:
    """Records: the receiving school confirmed receipt of the child-protection file (who there
    confirmed, when). Refused (422, saying why) when no transfer is recorded, when the one
    named is confirmed already, or when receipt would precede sending."""
    return confirm_receipt(reviews, case_id, facts, **sent)


def _export(
    request: Request, principal: Principal, case_id: UUID, what: str, as_of: datetime | None
) -> CaseExport:
    """The export of a case the principal may see, its read recorded first: the export holds
    its own read, and its time is the footer's."""
    record = read_case(request, principal, case_id, what, as_of, nothing_was="exported")
    reviews = reviews_of(request)
    runtime: ServiceRuntime = request.app.state.runtime
    school = runtime.trust.school(record.school)
    return build_export(
        record,
        case_view(record, now=reviews.clock(), as_of=as_of),
        reviews.verify(case_id),
        school_name=school.name if school else record.school,
        exported_by=principal.user,
        exported_by_role=principal.role,
        exported_at=record.entries[-1].recorded_at,
        timezone=runtime.trust.timezone,
    )


def _filename(export: CaseExport) -> str:
    return "case-history-" + re.sub(r"[^A-Za-z0-9._-]", "_", export.reference)
