"""Step 1 triage: the nine questions and the facts that decide a referral."""

from __future__ import annotations

from datetime import datetime
from operator import attrgetter
from typing import Any

from pydantic import BaseModel, model_validator

from services.intake.domain import ASKED_AS_ONE, TriageRecorded
from services.intake.entrypoint.common import RECORDERS, record, router, visible_incident
from shared.entry_routes import entry_in
from shared.http import add_entry_route, add_list_route


class TriageIn(entry_in(TriageRecorded)):  # type: ignore[misc]
    """Step 1 triage: each question answered, or left out to record it as unknown."""

    @model_validator(mode="before")
    @classmethod
    def _not_asked_as_one(cls, data: Any) -> Any:
        # A client written before the two questions were asked apart is told what to send.
        if isinstance(data, dict) and ASKED_AS_ONE in data:
            msg = (
                f"{ASKED_AS_ONE} is asked as two questions now: violent_or_abusive_acts and "
                "acts_unusual_for_development"
            )
            raise ValueError(msg)
        return data


class TriageOut(BaseModel):
    """One triage entry."""

    entry_number: int
    answers: dict[str, Any]
    image_locations: list[dict[str, str]]
    reason: str
    recorded_by: str
    recorded_by_role: str
    occurred_at: datetime
    recorded_at: datetime

    @classmethod
    def of(cls, entry: TriageRecorded) -> TriageOut:
        # The entry's number is published and answered as entry_number.
        kept = {name: getattr(entry, name) for name in cls.model_fields if name != "entry_number"}
        return cls(entry_number=entry.number, **kept)


add_entry_route(
    router,
    "/cases/{case_id}/triage",
    TriageRecorded,
    body=TriageIn,
    out=TriageOut,
    who=RECORDERS,
    record=record,
    name="record_triage",
    description="""Step 1: record the triage answers. A second entry corrects the first, with
    its reason; both stay in the record.""",
)


add_list_route(
    router,
    "/cases/{case_id}/triage",
    TriageOut,
    who=RECORDERS,
    case=visible_incident,
    entries=attrgetter("triage"),
    name="get_triage",
    description="""Every triage entry of the case, oldest first: corrections never hide what
    came before.""",
)
