"""A case's history exported, as PDF and as JSON, for the school's DSL and head and for auditors.

An export is a read of the case, and is recorded as one in its chronology before it is made, so
it holds its own read.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Request, Response

from services.review.adapters.export import CaseExport, build_export
from services.review.adapters.pdf import render_pdf
from services.review.domain.case_view import case_view
from services.review.entrypoint.cases import AsOf
from services.review.entrypoint.common import CASE_READERS, read_case, reviews_of, router
from shared.http import CaseId
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
