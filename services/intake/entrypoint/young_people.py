"""The young people an incident involves: recorded with the disclosure, added or corrected later."""

from __future__ import annotations

from operator import attrgetter
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from services.intake.domain import YoungPersonRecorded
from services.intake.entrypoint.common import RECORDERS, record, router, visible_incident
from shared.entry_routes import entry_in, entry_out
from shared.http import add_entry_route, add_list_route
from shared.imagery import FreeText
from shared.local_time import TrustTime

# A young person as sent: the declared fields, less the correction's reason, which is sent
# beside them (and is never part of a disclosure's list of young people).
_PERSON: dict[str, Any] = {
    name: (field.annotation, field)
    for name, field in entry_in(YoungPersonRecorded).model_fields.items()
    if name not in ("reason", "occurred_at")
}
YoungPersonIn: type[BaseModel] = create_model(
    "YoungPersonIn",
    __config__=ConfigDict(extra="forbid"),
    __doc__="A young person the incident involves, by a pseudonymous reference, never a name.",
    **_PERSON,
)
YoungPersonOut = entry_out(YoungPersonRecorded)


class YoungPersonChangeIn(BaseModel):
    """A young person to add, or a correction of one (with the reason)."""

    model_config = ConfigDict(extra="forbid")

    young_person: YoungPersonIn
    reason: FreeText = Field(default="", max_length=2000, description="Required to correct.")
    occurred_at: TrustTime | None = None


add_entry_route(
    router,
    "/cases/{case_id}/young-people",
    YoungPersonRecorded,
    body=YoungPersonChangeIn,
    out=YoungPersonOut,
    who=RECORDERS,
    record=record,
    name="record_young_person",
    details=lambda sent: {**sent.young_person.model_dump(), "reason": sent.reason},
    description="""Add a young person to the case, or correct one already recorded; the
    earlier record stays in the history.""",
)


add_list_route(
    router,
    "/cases/{case_id}/young-people",
    YoungPersonOut,
    who=RECORDERS,
    case=visible_incident,
    entries=attrgetter("young_people_history"),
    name="get_young_people",
    description="Every record of every young person of the case, oldest first.",
)
