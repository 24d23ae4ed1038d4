"""Events the review service publishes: its own entries of a case (steps 7 and 8, transfers, and
every read of a case), so that its views can be rebuilt from the streams alone."""

from __future__ import annotations

from typing import ClassVar

from pydantic import AwareDatetime, Field

from shared.contracts import CaseContract, Personal, register


@register
class ReviewEntryRecordedV1(CaseContract):
    """One of review's own entries of a case, as it stands in the case's chronology."""

    subject: ClassVar[str] = "review.entry.recorded.v1"

    kind: str = Field(description="What it is, e.g. case_read, case_closed, review_recorded.")
    summary: Personal = Field(description="The entry in words.")
    actor: str = Field(description="Who did it.")
    actor_role: str
    occurred_at: AwareDatetime
    recorded_at: AwareDatetime
    payload: Personal = Field(description="The entry's facts as JSON.")
