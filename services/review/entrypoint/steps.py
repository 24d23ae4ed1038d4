"""Policy steps 7 and 8 over HTTP, for the school's DSL and head: containing the incident
(support, staff informed, parents spoken to, education, removal help, the hosting site's
removal), the review of outcomes and procedures, closing the case and reopening it.

Every free-text field is :data:`~shared.imagery.FreeText`: facts about an image, never one.
Each POST takes an ``Idempotency-Key`` (a retry answers 200 with the first attempt's entry) and
``If-Match`` (the ``ETag`` of ``GET /cases/{id}``; 409 if the case changed meanwhile).
"""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, Field

from services.review.application import Recorded, Recording, Reviews
from services.review.entrypoint.common import Facts, own_entry_route
from services.review.own_entries import (
    EDUCATION_SESSION,
    PARENTS_SPOKEN_TO,
    REMOVAL_HELP,
    REVIEW_RECORDED,
    SITE_REMOVAL,
    STAFF_INFORMED,
    SUPPORT_GIVEN,
)
from shared.http import EntryIn
from shared.imagery import FreeText


def _not_blank(text: str) -> str:
    if not text.strip():
        msg = "must say something, in words"
        raise ValueError(msg)
    return text


Words = Annotated[FreeText, Field(min_length=1, max_length=4000), AfterValidator(_not_blank)]
"""Words that must be there: a fact or a reason, never blank, never an image."""
Note = Annotated[FreeText, Field(max_length=4000)]
"""Optional words."""
Pseudonym = Annotated[FreeText, Field(min_length=1, max_length=40), AfterValidator(_not_blank)]
"""A young person's pseudonymous reference (YP-1), never a name."""


# Step 7: containing the incident.


class SupportIn(EntryIn):
    """Support given to a young person."""

    pseudonym: Pseudonym
    kind: Literal["pastoral", "counselling", "mentor", "safety_plan", "external_service", "other"]
    given_by: Words
    detail: Words


class StaffInformedIn(EntryIn):
    """Other staff told, so they are prepared to act if the issue is continued or referred to
    by other students: who, and what they were told and why."""

    staff: Words = Field(description="Who was told, e.g. 'Year 9 tutors'.")
    what_and_why: Words


class ParentsConversationIn(EntryIn):
    """The conversation with the parents or carers itself (whether they are told at all is
    referral's parents_or_carers action)."""

    pseudonym: Pseudonym
    with_whom: Words
    how: Literal["in_person", "phone", "video_call", "letter"]
    what_was_said: Words


class EducationSessionIn(EntryIn):
    """An education session for students (the local police may deliver it)."""

    audience: Words = Field(description="Who attended, e.g. 'Year 9'.")
    topic: Words
    delivered_by: Words


class RemovalHelpIn(EntryIn):
    """Childline/IWF Report Remove or NCMEC Take It Down signposted to the young person, or used
    by them: both work from hashes made on the young person's own device."""

    pseudonym: Pseudonym
    service: Literal["childline_iwf_report_remove", "ncmec_take_it_down"]
    status: Literal["signposted", "used"]
    note: Note = ""


class SiteRemovalIn(EntryIn):
    """The hosting site's removal of the image, as it stands."""

    site: Words = Field(description="The site or app, by name.")
    status: Literal["requested", "pending", "removed", "refused"]
    their_reference: Note = ""
    note: Note = ""


# Step 8: review and closure.


class ReviewIn(EntryIn):
    """A review of outcomes and procedures."""

    what_worked: Words
    what_did_not_work: Words
    procedure_changes: Words = Field(description="Changes to procedure, or why none.")


class ClosureIn(EntryIn):
    note: Note = ""


class ReopeningIn(EntryIn):
    reason: Note = Field(description="Why the case is reopened (required).")


# The routes: each records one entry by the application's command for it.


@own_entry_route("/cases/{case_id}/support", SupportIn)
def record_support(reviews: Reviews, case_id: UUID, facts: Facts, sent: Recording) -> Recorded:
    """Step 7: support given to a young person."""
    return reviews.record_step(case_id, SUPPORT_GIVEN, facts, **sent)


@own_entry_route("/cases/{case_id}/staff-informed", StaffInformedIn)
def record_staff_informed(
    reviews: Reviews, case_id: UUID, facts: Facts, sent: Recording
) -> Recorded:
    """Step 7: other staff informed, and why."""
    return reviews.record_step(case_id, STAFF_INFORMED, facts, **sent)


@own_entry_route("/cases/{case_id}/parents-conversations", ParentsConversationIn)
def record_parents_conversation(
    reviews: Reviews, case_id: UUID, facts: Facts, sent: Recording
) -> Recorded:
    """Step 7: a conversation with the parents or carers."""
    return reviews.record_step(case_id, PARENTS_SPOKEN_TO, facts, **sent)


@own_entry_route("/cases/{case_id}/education-sessions", EducationSessionIn)
def record_education_session(
    reviews: Reviews, case_id: UUID, facts: Facts, sent: Recording
) -> Recorded:
    """Step 7: an education session for students."""
    return reviews.record_step(case_id, EDUCATION_SESSION, facts, **sent)


@own_entry_route("/cases/{case_id}/removal-help", RemovalHelpIn)
def record_removal_help(reviews: Reviews, case_id: UUID, facts: Facts, sent: Recording) -> Recorded:
    """Step 7: Report Remove or Take It Down, signposted or used."""
    return reviews.record_step(case_id, REMOVAL_HELP, facts, **sent)


@own_entry_route("/cases/{case_id}/site-removals", SiteRemovalIn)
def record_site_removal(reviews: Reviews, case_id: UUID, facts: Facts, sent: Recording) -> Recorded:
    """Step 7: the hosting site's removal status (requested, pending, removed, refused)."""
    return reviews.record_step(case_id, SITE_REMOVAL, facts, **sent)


@own_entry_route("/cases/{case_id}/reviews", ReviewIn)
def record_review(reviews: Reviews, case_id: UUID, facts: Facts, sent: Recording) -> Recorded:
    """Step 8: what worked, what did not, and the changes to procedure."""
    return reviews.record_step(case_id, REVIEW_RECORDED, facts, **sent)


@own_entry_route("/cases/{case_id}/closure", ClosureIn)
def close_case(reviews: Reviews, case_id: UUID, facts: Facts, sent: Recording) -> Recorded:
    """Step 8: close the case. Refused (422, every reason listed) while a required action is
    neither done nor declined with a reason, the parents are neither told nor recorded as not
    to be told with the reason, not referring to the police lacks its written reasons, or no
    review is recorded."""
    return reviews.close_case(case_id, note=facts["note"], **sent)


@own_entry_route("/cases/{case_id}/reopening", ReopeningIn)
def reopen_case(reviews: Reviews, case_id: UUID, facts: Facts, sent: Recording) -> Recorded:
    """Step 8: reopen a closed case, with the reason (recorded; the case is then reviewed
    again before it closes)."""
    return reviews.reopen_case(case_id, reason=facts["reason"], **sent)
