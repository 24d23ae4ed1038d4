"""Events the intake service publishes (policy steps 1-4)."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar
from uuid import UUID

from pydantic import AwareDatetime, Field

from shared.contracts import Contract, Personal, register

SchoolCode = str


class DisclosureRoute(StrEnum):
    """How the school came to know of the incident."""

    YOUNG_PERSON = "young_person"
    PEER = "peer"
    STAFF_DISCOVERY = "staff_discovery"
    PARENT_OR_CARER = "parent_or_carer"
    OTHER_AGENCY = "other_agency"
    ANONYMOUS = "anonymous"


@register
class IncidentReportedV1(Contract):
    """A member of staff recorded a disclosure: the case exists from here on."""

    subject: ClassVar[str] = "intake.incident.reported.v1"
    producer: ClassVar[str] = "intake"

    case_id: UUID
    school: SchoolCode = Field(pattern=r"^[A-Z]{2,8}$")
    reference: str = Field(description="Human reference unique per school, e.g. OAK-2026-0007.")
    disclosure_route: DisclosureRoute
    summary: Personal = Field(description="What was disclosed, in words. Never the image.")
    recorded_by: str = Field(description="User id of the member of staff who recorded it.")
    recorded_by_role: str
    occurred_at: AwareDatetime = Field(description="When the disclosure was made.")
    recorded_at: AwareDatetime = Field(description="When it was stored.")
