"""Events the intake service publishes (policy steps 1-4).

Step 3's live in :mod:`shared.contracts.intake.image`. They are imported here so that every
consumer of the intake stream, which imports this module, can decode them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.contracts import (
    PERSONAL_DATA_KEY,
    CaseContract,
    CaseEntryContract,
    EntryRecordedContract,
    Personal,
    SchoolCode,
    register,
)
from shared.contracts.intake.image import (
    ContainmentAction,
    CustodyAction,
    DeletionConfirmedV1,
    DeletionPlace,
    DeletionRequestedV1,
    DeviceCustodyRecordedV1,
    ImageContainedV1,
    ImageNotViewedAttestedV1,
    ImageReportedToSiteV1,
    ImageViewedV1,
    ImageViewingAgreedV1,
)
from shared.vocabulary import Audience, HowTold, SearchOutcome, Sex, Vulnerability, YoungPersonRole

__all__ = [
    "ContainmentAction",
    "CustodyAction",
    "DeletionConfirmedV1",
    "DeletionPlace",
    "DeletionRequestedV1",
    "DeviceCustodyRecordedV1",
    "DeviceSearchAuthorisedV1",
    "DeviceSearchDeclinedV1",
    "DeviceSearchedV1",
    "DisclosureRoute",
    "DslAssignedV1",
    "ImageContainedV1",
    "ImageLocation",
    "ImageNotViewedAttestedV1",
    "ImageReportedToSiteV1",
    "ImageViewedV1",
    "ImageViewingAgreedV1",
    "IncidentReportedV1",
    "LeadershipInformedV1",
    "SchoolCode",
    "SearchOutcome",
    "TriageRecordedV1",
    "TriageRecordedV2",
    "YesNo",
    "YoungPersonRecordedV1",
]


class DisclosureRoute(StrEnum):
    """How the school came to know of the incident."""

    YOUNG_PERSON = "young_person"
    PEER = "peer"
    STAFF_DISCOVERY = "staff_discovery"
    PARENT_OR_CARER = "parent_or_carer"
    OTHER_AGENCY = "other_agency"
    ANONYMOUS = "anonymous"


@register
class IncidentReportedV1(CaseEntryContract):
    """A member of staff recorded a disclosure: the case exists from here on."""

    subject: ClassVar[str] = "intake.incident.reported.v1"

    disclosure_route: DisclosureRoute
    summary: Personal = Field(description="What was disclosed, in words. Never the image.")
    # The moment step 4's minutes are counted from, so its description names it.
    occurred_at: AwareDatetime = Field(description="When the disclosure was made.")


YesNo = Literal["yes", "no", "unknown"]


class ImageLocation(BaseModel):
    """Where the image is known to be: a named device, the school network, a site or app."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    kind: Literal["device", "school_network", "site_or_app", "unknown"]
    name: str = ""


class _TriageEntry(CaseEntryContract):
    """The fields every version of a triage entry starts with: step 1's questions and the
    first referral facts. Not published on its own.

    Each version declares the rest itself, in its own order: a contract encodes its fields in
    the order they are declared, review hashes each message's encoding, and so a version's
    order is part of what it publishes (V1's must stay as it was)."""

    entry_number: int = Field(ge=1)
    # Step 1
    disclosing_about: tuple[Literal["receiving", "sending", "sharing", "unknown"], ...]
    image_nature: Literal["potentially_illegal", "inappropriate", "unknown"]
    ai_generated_or_altered: YesNo
    dsl_consulted: YesNo
    how_widely_shared: Literal[
        "not_shared", "one_recipient", "small_group", "widely", "public_online", "unknown"
    ]
    device_in_possession: YesNo
    device_ownership: Literal["school", "personal", "unknown"]
    immediate_support_needed: YesNo
    other_young_people_involved: YesNo
    image_locations: tuple[ImageLocation, ...] = Field(
        default=(), json_schema_extra={PERSONAL_DATA_KEY: True}
    )
    # The facts that decide a referral
    adult_involvement: Literal["no", "suspected", "yes", "unknown"]
    coercion_blackmail_or_grooming: YesNo
    capacity_to_consent_concerns: YesNo

    @classmethod
    def question_fields(cls) -> tuple[str, ...]:
        """The answer fields of this version: step 1's questions and the referral facts."""
        return tuple(
            name
            for name in cls.model_fields
            if name not in CaseEntryContract.model_fields
            and name not in {"entry_number", "image_locations", "correction_reason"}
        )


@register
class TriageRecordedV1(_TriageEntry):
    """Step 1's questions answered (each answered or "unknown"), and the facts that decide a
    referral. A later entry with a higher ``entry_number`` corrects the earlier ones, which
    stay in the record.

    Superseded by :class:`TriageRecordedV2`, which asks ``acts_unusual_or_violent`` as two
    questions. Intake still publishes an entry recorded before then as this version, with the
    one answer it was given."""

    subject: ClassVar[str] = "intake.triage.recorded.v1"

    acts_unusual_or_violent: YesNo
    pictured_under_13: YesNo
    immediate_risk_of_harm: YesNo
    financially_motivated_extortion: YesNo
    sexual_acts: YesNo = Field(
        default="unknown",
        description="Whether the imagery involves sexual acts (added within v1: an older "
        "message without it means unknown).",
    )
    correction_reason: Personal = Field(default="", description="Why an earlier entry changed.")


@register
class TriageRecordedV2(_TriageEntry):
    """Step 1's questions answered (each answered or "unknown"), and the facts that decide a
    referral. A later entry with a higher ``entry_number`` corrects the earlier ones, which
    stay in the record.

    V1's ``acts_unusual_or_violent`` is two facts here, because the policy treats them apart
    (from uk-2024.3): either meets the guidance's criterion 3 for an immediate referral, and
    violent or abusive acts also make the case aggravated."""

    subject: ClassVar[str] = "intake.triage.recorded.v2"

    violent_or_abusive_acts: YesNo = Field(
        description="Whether what is known of the imagery shows violent or abusive acts."
    )
    acts_unusual_for_development: YesNo = Field(
        description="Whether what is known of the imagery suggests acts unusual for the young "
        "person's developmental stage."
    )
    pictured_under_13: YesNo
    immediate_risk_of_harm: YesNo
    financially_motivated_extortion: YesNo
    sexual_acts: YesNo = Field(description="Whether the imagery involves sexual acts.")
    correction_reason: Personal = Field(default="", description="Why an earlier entry changed.")


@register
class YoungPersonRecordedV1(CaseEntryContract):
    """A young person the incident involves, by pseudonymous reference. A later record of the
    same pseudonym corrects the earlier one (``correction_reason`` says why)."""

    subject: ClassVar[str] = "intake.young_person.recorded.v1"

    pseudonym: Personal = Field(description="A reference such as YP-3, never a name.")
    year_group: int | None = Field(default=None, ge=0, le=14)
    age: int | None = Field(default=None, ge=3, le=25)
    sex: Sex
    vulnerabilities: tuple[Vulnerability, ...] = ()
    roles: tuple[YoungPersonRole, ...]
    correction_reason: Personal = ""


@register
class LeadershipInformedV1(CaseEntryContract):
    """Step 4: the DSL or senior management told of the incident, how, and how many minutes
    after the disclosure."""

    subject: ClassVar[str] = "intake.leadership.informed.v1"

    audience: Audience
    person: str = Field(description="Who was told (a member of staff).")
    how: HowTold
    minutes_after_disclosure: int = Field(ge=0)
    correction_reason: Personal = ""


@register
class DslAssignedV1(CaseEntryContract):
    """Step 4: the DSL who takes the case (a later one hands it over, with the reason)."""

    subject: ClassVar[str] = "intake.dsl.assigned.v1"

    dsl: str
    handover_reason: Personal = ""


@register
class DeviceSearchAuthorisedV1(CaseContract):
    """Step 2: the head authorised a named person to search a young person's device."""

    subject: ClassVar[str] = "intake.device_search.authorised.v1"

    searcher: str
    pseudonym: Personal
    authorised_by: str
    occurred_at: AwareDatetime
    recorded_at: AwareDatetime


@register
class DeviceSearchedV1(CaseEntryContract):
    """Step 2: a device searched, and what was found, in words. ``emergency`` marks a search
    under the emergency exception, with the conditions it did not meet: review flags it."""

    subject: ClassVar[str] = "intake.device_search.recorded.v1"

    pseudonym: Personal
    device: Personal
    searcher: str
    safeguarding_team_member: str
    outcome: SearchOutcome
    emergency: bool = False
    emergency_justification: Personal = ""
    conditions_not_met: tuple[str, ...] = ()


@register
class DeviceSearchDeclinedV1(CaseEntryContract):
    """Step 2: a device not searched, because it would add to the young person's distress."""

    subject: ClassVar[str] = "intake.device_search.declined.v1"

    pseudonym: Personal
    reason: Personal


@register
class IntakeEntryRecordedV1(EntryRecordedContract):
    """An entry of steps 1-4 of a kind with no contract of its own (see the base)."""

    subject: ClassVar[str] = "intake.entry.recorded.v1"
