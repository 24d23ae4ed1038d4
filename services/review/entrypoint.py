"""Review's HTTP API: a case's chronology, for its school's DSL and head, and for auditors.

Run it with ``safeguard serve review``; OpenAPI at ``/docs``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, FastAPI, Request
from pydantic import BaseModel

from services.review.adapters.contracts import to_contract
from services.review.application import CaseNotFoundError, Reviews
from shared.identity import Authorize, Principal, Role, case_not_found, hide_unless_visible
from shared.runtime import ServiceRuntime, ServiceSpec, create_http_app
from shared.settings import Settings

SPEC = ServiceSpec(
    name="review",
    application=Reviews,
    to_contract=to_contract,
    upstreams=("intake", "referral"),
    description="Policy steps 7-8: containment, review, closure; chronology and audit.",
)

CASE_READERS = Authorize(Role.DSL, Role.HEAD, Role.AUDITOR)


class EntryOut(BaseModel):
    kind: str
    summary: str
    actor: str
    actor_role: str
    occurred_at: datetime
    recorded_at: datetime
    source: str


class CaseViewOut(BaseModel):
    """A case's chronology, in the order things happened."""

    case_id: UUID
    school: str
    reference: str
    entries: list[EntryOut]


router = APIRouter(tags=["cases"])


@router.get("/cases/{case_id}", response_model=CaseViewOut)
def get_case_view(
    case_id: UUID, request: Request, principal: Annotated[Principal, Depends(CASE_READERS)]
) -> CaseViewOut:
    """The case's chronology: every entry with who, when it happened and when recorded."""
    runtime: ServiceRuntime = request.app.state.runtime
    assert isinstance(runtime.app, Reviews)
    try:
        record = runtime.app.get_case(case_id)
    except CaseNotFoundError:
        raise case_not_found() from None
    hide_unless_visible(principal, record.school)
    return CaseViewOut(
        case_id=case_id,
        school=record.school,
        reference=record.reference,
        entries=[EntryOut(**vars(e)) for e in record.chronology()],
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    """The review service's HTTP app."""
    return create_http_app(SPEC, settings or Settings(), router)
