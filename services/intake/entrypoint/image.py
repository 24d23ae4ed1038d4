"""Step 3's record as it stands: what is done, and not done, with the image. Each kind of entry
is recorded by its own ``POST`` (:mod:`.entries`); this is where the DSL and the head read them
all together."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic import BaseModel, Field, create_model

from services.intake.domain.image import STEP_3
from services.intake.entrypoint.common import DECIDERS, CaseId, router, visible_incident
from shared.entry_routes import entry_out, list_of
from shared.identity import Principal

_KEPT: dict[str, Any] = {kind.KEPT_IN: (list_of(entry_out(kind)), ...) for kind in STEP_3}
ImageRecordOut: type[BaseModel] = create_model(
    "ImageRecordOut",
    __doc__="Step 3 of a case as it stands, every entry oldest first.",
    **_KEPT,
    agencies_involved=(
        list[str],
        Field(description="What intake knows of other agencies on the case, by code."),
    ),
)


@router.get("/cases/{case_id}/image", response_model=ImageRecordOut)
def get_image_record(
    case_id: CaseId, request: Request, principal: Annotated[Principal, Depends(DECIDERS)]
) -> Any:
    """Step 3's record: each device's custody chain, who attested not viewing the image, the
    head's agreements and the viewings (what was seen, in words), containment, reports to
    hosting sites, and deletion requests and confirmations. For the DSL and the head only."""
    incident = visible_incident(request, principal, case_id)
    return ImageRecordOut(
        **{
            kind.KEPT_IN: [entry_out(kind).of(e) for e in getattr(incident, kind.KEPT_IN)]
            for kind in STEP_3
        },
        agencies_involved=incident.agencies_involved(),
    )
