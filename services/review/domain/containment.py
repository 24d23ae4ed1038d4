"""Policy step 7: containing the incident and managing pupil reaction. Support for the young
people, other staff informed, the conversation with the parents or carers, education sessions,
help to have an image removed, and the hosting site's removal of it.

Each kind is one of review's own entries (:mod:`services.review.domain.own_entries`), declared
here once. None has a rule beyond its words: step 7 is recorded as it happens.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

from services.review.domain.own_entries import OwnKind, spoken, with_note
from shared.vocabulary import Doc, LongNote, LongWords, Pseudonym

SupportKind = Literal[
    "pastoral", "counselling", "mentor", "safety_plan", "external_service", "other"
]
Conversation = Literal["in_person", "phone", "video_call", "letter"]
"""How the parents or carers were spoken to."""
RemovalService = Literal["childline_iwf_report_remove", "ncmec_take_it_down"]

REMOVAL_SERVICES: dict[str, str] = {
    "childline_iwf_report_remove": "Childline/IWF Report Remove",
    "ncmec_take_it_down": "NCMEC Take It Down",
}
"""The services of :data:`RemovalService`, by name."""


@dataclass(frozen=True)
class SupportGiven(OwnKind):
    """Step 7: support given to a young person."""

    KIND = "support_given"
    STEP = 7
    ROUTE = "support"

    pseudonym: Pseudonym
    kind: SupportKind
    given_by: LongWords
    detail: LongWords

    def words(self) -> str:
        return (
            f"Support for {self.pseudonym} ({spoken(self.kind)}) by {self.given_by}: {self.detail}"
        )


@dataclass(frozen=True)
class StaffInformed(OwnKind):
    """Step 7: other staff told, so they are prepared to act if the issue is continued or
    referred to by other students: who, and what they were told and why."""

    KIND = "staff_informed"
    STEP = 7
    ROUTE = "staff-informed"

    staff: Annotated[LongWords, Doc("Who was told, e.g. 'Year 9 tutors'.")]
    what_and_why: LongWords

    def words(self) -> str:
        return f"Staff informed ({self.staff}): {self.what_and_why}"


@dataclass(frozen=True)
class ParentsSpokenTo(OwnKind):
    """Step 7: the conversation with the parents or carers itself (whether they are told at
    all is referral's parents_or_carers action)."""

    KIND = "parents_spoken_to"
    STEP = 7
    ROUTE = "parents-conversations"

    pseudonym: Pseudonym
    with_whom: LongWords
    how: Conversation
    what_was_said: LongWords

    def words(self) -> str:
        return (
            f"Parents or carers of {self.pseudonym} spoken to ({self.with_whom}, "
            f"{spoken(self.how)}): {self.what_was_said}"
        )


@dataclass(frozen=True)
class EducationSessionHeld(OwnKind):
    """Step 7: an education session for students (the local police may deliver it)."""

    KIND = "education_session"
    STEP = 7
    ROUTE = "education-sessions"

    audience: Annotated[LongWords, Doc("Who attended, e.g. 'Year 9'.")]
    topic: LongWords
    delivered_by: LongWords

    def words(self) -> str:
        return f"Education session for {self.audience}, by {self.delivered_by}: {self.topic}"


@dataclass(frozen=True)
class RemovalHelpRecorded(OwnKind):
    """Step 7: Childline/IWF Report Remove or NCMEC Take It Down signposted to the young
    person, or used by them: both work from hashes made on the young person's own device."""

    KIND = "removal_help"
    STEP = 7
    ROUTE = "removal-help"

    pseudonym: Pseudonym
    service: RemovalService
    status: Literal["signposted", "used"]
    note: LongNote = ""

    def words(self) -> str:
        text = f"{REMOVAL_SERVICES[self.service]} {self.status} for {self.pseudonym}"
        return with_note(text, self.note)


@dataclass(frozen=True)
class SiteRemovalRecorded(OwnKind):
    """Step 7: the hosting site's removal of the image, as it stands (requested, pending,
    removed, refused)."""

    KIND = "site_removal"
    STEP = 7
    ROUTE = "site-removals"

    site: Annotated[LongWords, Doc("The site or app, by name.")]
    status: Literal["requested", "pending", "removed", "refused"]
    their_reference: LongNote = ""
    note: LongNote = ""

    def words(self) -> str:
        text = f"Removal from {self.site}: {self.status}"
        if self.their_reference:
            text += f", the site's reference {self.their_reference}"
        return with_note(text, self.note)


CONTAINMENT: tuple[type[OwnKind], ...] = (
    SupportGiven,
    StaffInformed,
    ParentsSpokenTo,
    EducationSessionHeld,
    RemovalHelpRecorded,
    SiteRemovalRecorded,
)
"""Step 7's kinds, in the order the case's view lists them."""


# Whether the parents or carers were told.
TOLD, NOT_TOLD, NOT_YET = "told", "not_told", "not_yet"


@dataclass(frozen=True)
class Parents:
    """Whether the parents or carers were told (referral's parents action done, or, when no
    such action is outstanding, a conversation recorded at step 7), or recorded as not to be
    told with the reason (the action declined)."""

    status: str
    reason: str = ""
    how: str = ""
    whom: str = ""
    recorded_by: str = ""
    occurred_at: datetime | None = None
    source: str = ""
