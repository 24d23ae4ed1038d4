"""A case's chronology, for its school's DSL and head, and for auditors."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request
from pydantic import BaseModel

from services.review.entrypoint.common import CASE_READERS, router, visible_case
from shared.identity import Principal


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


@router.get("/cases/{case_id}", response_model=CaseViewOut)
def get_case_view(
    case_id: UUID, request: Request, principal: Annotated[Principal, Depends(CASE_READERS)]
) -> CaseViewOut:
    """The case's chronology: every entry with who, when it happened and when recorded."""
    record = visible_case(request, principal, case_id)
    return CaseViewOut(
        case_id=case_id,
        school=record.school,
        reference=record.reference,
        entries=[EntryOut.model_validate(e, from_attributes=True) for e in record.chronology()],
    )
