"""Step 3: what is done, and not done, with the image, recorded as it happens.

The device's custody chain, staff attesting they did not view the image, the head's agreement
to a viewing and the viewing itself, the network blocked or the image isolated, the report to
the hosting site, and young people asked to delete copies (only while no other agency is
involved) and confirming they did. Each route records one entry of the case through
:meth:`Intake.record_entry`; the domain refuses (422) what the policy does not allow, naming
the rule. Every free-text field refuses an image or a link to one: what was seen is words.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import Depends, Request
from pydantic import BaseModel, Field

from services.intake.domain import CaseEntry, Incident
from services.intake.entrypoint.common import (
    DECIDERS,
    HEAD,
    RECORDERS,
    CaseId,
    Pseudonym,
    intake_of,
    router,
    visible_incident,
)
from shared.http import EntryIn, EntryOut, add_entry_route
from shared.identity import Principal
from shared.imagery import FreeText
from shared.local_time import TrustTime

# Each kind of entry: its facts once, then what is sent (…In) and what is answered (…Out).


class Custody(BaseModel):
    """The facts of a custody entry."""

    device: FreeText = Field(min_length=1, max_length=200, examples=["YP-2's phone"])
    pseudonym: Literal[""] | Pseudonym = Field(
        default="", description="The young person whose device it is; empty if no one's."
    )
    action: Literal["confiscated", "transferred", "handed_to_police"]
    held_by: FreeText = Field(
        min_length=1, max_length=200, description="Who holds the device now.", examples=["dsl.oak"]
    )
    location: FreeText = Field(
        default="", max_length=200, description="Where it is secured; not for a hand-over."
    )
    seal_number: FreeText = Field(min_length=1, max_length=200)
    switched_off: bool
    officer_reference: FreeText = Field(
        default="", max_length=200, description="The police officer's reference: a hand-over."
    )
    note: FreeText = Field(
        default="", max_length=2000, description="Why the seal was opened or changed."
    )


class CustodyIn(EntryIn, Custody):
    """A device confiscated (switched off, sealed, secured), moved to another holder, or
    handed to the police with the officer's reference."""


class CustodyOut(EntryOut, Custody):
    """One link of a device's custody chain."""


class NotViewed(BaseModel):
    """The facts of an attestation of not viewing the image."""

    context: FreeText = Field(
        min_length=1,
        max_length=2000,
        examples=["Invented: YP-2 offered to show me; I did not look."],
    )


class NotViewedIn(EntryIn, NotViewed):
    """A member of staff's own attestation that they did not view the image."""


class NotViewedOut(EntryOut, NotViewed):
    """An attestation of not viewing the image; ``recorded_by`` is who attests."""


class ViewingAgreement(BaseModel):
    """The facts of the head's agreement to a viewing."""

    dsl: FreeText = Field(
        min_length=1,
        max_length=200,
        description="The DSL who may view it: the DSL who has the case.",
        examples=["dsl.oak"],
    )
    pseudonym: Pseudonym = Field(description="The young person pictured.")
    reason: FreeText = Field(
        min_length=1, max_length=2000, description="Why viewing is unavoidable."
    )


class ViewingAgreementIn(EntryIn, ViewingAgreement):
    """The head agrees that the DSL may view the image of a young person."""


class ViewingAgreementOut(EntryOut, ViewingAgreement):
    """The head's agreement to a viewing."""


class Viewing(BaseModel):
    """The facts of a viewing, in words."""

    pseudonym: Pseudonym = Field(description="The young person pictured.")
    viewer_sex: Literal["female", "male"]
    senior_present: FreeText = Field(
        min_length=1, max_length=200, description="The other senior member of staff present."
    )
    on_school_premises: bool
    same_sex_not_possible_reason: FreeText = Field(
        default="",
        max_length=2000,
        description="Why no one of the young person's sex could view it, if no one could.",
    )
    reason: FreeText = Field(
        min_length=1, max_length=2000, description="Why viewing was unavoidable."
    )
    what_was_seen: FreeText = Field(
        min_length=1, max_length=2000, description="What was seen, described in words."
    )
    what_was_done: FreeText = Field(min_length=1, max_length=2000)


class ViewingIn(EntryIn, Viewing):
    """The DSL viewed the image under the protocol. What was seen is described in words;
    an image, or a link to one, is refused."""


class ViewingOut(EntryOut, Viewing):
    """A viewing of the image, with the head who agreed to it."""

    agreed_by: str


class Containment(BaseModel):
    """The facts of a step containing the image."""

    action: Literal["network_blocked", "image_isolated"]
    done_by: FreeText = Field(min_length=1, max_length=200)
    where: FreeText = Field(min_length=1, max_length=200, examples=["the school network"])


class ContainmentIn(EntryIn, Containment):
    """The school network blocked to all users, or the image isolated."""


class ContainmentOut(EntryOut, Containment):
    """A step taken to contain the image."""


class SiteReport(BaseModel):
    """The facts of a report to the hosting site."""

    site: FreeText = Field(min_length=1, max_length=200, examples=["Invented social site"])
    report_reference: FreeText = Field(min_length=1, max_length=200)


class SiteReportIn(EntryIn, SiteReport):
    """The image reported to the site hosting it, with the site's reference."""


class SiteReportOut(EntryOut, SiteReport):
    """A report to the site hosting the image."""


class DeletionRequest(BaseModel):
    """The facts of a request to delete copies."""

    pseudonym: Pseudonym
    deadline: TrustTime
    places: list[Literal["devices", "cloud_storage", "social_media_accounts"]] = Field(
        min_length=1, max_length=3, description="Where every copy is to be deleted from."
    )


class DeletionRequestIn(EntryIn, DeletionRequest):
    """A young person asked to delete every copy by a deadline. Refused once another agency
    is involved: the copies may be evidence."""


class DeletionRequestOut(EntryOut, DeletionRequest):
    """A request to delete copies."""


class DeletionConfirmation(BaseModel):
    """The facts of a confirmation of deletion."""

    pseudonym: Pseudonym
    how: FreeText = Field(
        min_length=1, max_length=2000, examples=["Invented: told the DSL in person"]
    )


class DeletionConfirmationIn(EntryIn, DeletionConfirmation):
    """The young person confirmed deleting every copy."""


class DeletionConfirmationOut(EntryOut, DeletionConfirmation):
    """A confirmation of deletion; ``agencies_involved`` when it came, if any, flags the case."""

    agencies_involved: list[str]


def _record(
    request: Request,
    principal: Principal,
    case_id: UUID,
    command: Callable[..., None],
    **entry: Any,
) -> tuple[CaseEntry, bool]:
    incident = visible_incident(request, principal, case_id)
    return intake_of(request).record_on(
        incident, command, recorded_by=principal.user, recorded_by_role=str(principal.role), **entry
    )


add_entry_route(
    router,
    "/cases/{case_id}/custody",
    Incident.record_custody,
    body=CustodyIn,
    out=CustodyOut,
    who=RECORDERS,
    record=_record,
    description="""Step 3: the next link of a device's custody chain. Refused (422) unless it
    continues the chain: confiscated first (switched off, sealed, secured), then
    transferred, then handed to the police with the officer's reference, after
    which nothing more. A changed seal needs a ``note`` saying why.""",
)

add_entry_route(
    router,
    "/cases/{case_id}/not-viewed-attestations",
    Incident.attest_not_viewed,
    body=NotViewedIn,
    out=NotViewedOut,
    who=RECORDERS,
    record=_record,
    description="""Step 3: you attest that you did not view the image. Refused if you are
    recorded as having viewed it.""",
)

add_entry_route(
    router,
    "/cases/{case_id}/viewing-agreements",
    Incident.agree_viewing,
    body=ViewingAgreementIn,
    out=ViewingAgreementOut,
    who=HEAD,
    record=_record,
    description="""Step 3: the head agrees, with the reason, that the DSL may view the image of
    a young person, because it is unavoidable. Refused (422: viewing is by the DSL)
    unless it names the DSL who has the case (``POST /cases/{id}/dsl``): not before a
    DSL has taken the case, and not for anyone else, a deputy DSL included, until the
    case is handed to them.""",
)

add_entry_route(
    router,
    "/cases/{case_id}/viewings",
    Incident.record_viewing,
    body=ViewingIn,
    out=ViewingOut,
    who=RECORDERS,
    record=_record,
    description="""Step 3: the DSL viewed the image. Refused (422, naming each rule broken)
    unless the protocol was followed: only the DSL, with the head's agreement,
    another senior member of staff present, on school premises, of the young
    person's sex where possible, and the record says why, what was seen and what
    was done.""",
)

add_entry_route(
    router,
    "/cases/{case_id}/containment",
    Incident.record_containment,
    body=ContainmentIn,
    out=ContainmentOut,
    who=RECORDERS,
    record=_record,
    description="""Step 3: the school network blocked to all users, or the image isolated
    (never moved, printed or copied).""",
)

add_entry_route(
    router,
    "/cases/{case_id}/site-reports",
    Incident.record_site_report,
    body=SiteReportIn,
    out=SiteReportOut,
    who=RECORDERS,
    record=_record,
    description="""The image reported to the site hosting it, with the site's reference.""",
)

add_entry_route(
    router,
    "/cases/{case_id}/deletion-requests",
    Incident.request_deletion,
    body=DeletionRequestIn,
    out=DeletionRequestOut,
    who=DECIDERS,
    record=_record,
    description="""A young person asked to delete every copy by a deadline. Refused (422) once
    another agency is involved (the disclosure came from one, or a device went
    to the police).""",
)

add_entry_route(
    router,
    "/cases/{case_id}/deletion-confirmations",
    Incident.confirm_deletion,
    body=DeletionConfirmationIn,
    out=DeletionConfirmationOut,
    who=DECIDERS,
    record=_record,
    description="""The young person confirmed deleting every copy they were asked to. Recorded
    even once another agency is involved, and then the case is flagged for
    review: tell that agency.""",
)


class ImageRecordOut(BaseModel):
    """Step 3 of a case as it stands, every entry oldest first."""

    custody: list[CustodyOut]
    not_viewed_attestations: list[NotViewedOut]
    viewing_agreements: list[ViewingAgreementOut]
    viewings: list[ViewingOut]
    containment: list[ContainmentOut]
    site_reports: list[SiteReportOut]
    deletion_requests: list[DeletionRequestOut]
    deletion_confirmations: list[DeletionConfirmationOut]
    agencies_involved: list[str] = Field(
        description="What intake knows of other agencies on the case, by code."
    )


@router.get("/cases/{case_id}/image", response_model=ImageRecordOut)
def get_image_record(
    case_id: CaseId, request: Request, principal: Annotated[Principal, Depends(DECIDERS)]
) -> ImageRecordOut:
    """Step 3's record: each device's custody chain, who attested not viewing the image, the
    head's agreements and the viewings (what was seen, in words), containment, reports to
    hosting sites, and deletion requests and confirmations. For the DSL and the head only."""
    incident = visible_incident(request, principal, case_id)
    return ImageRecordOut(
        custody=[CustodyOut.of(e) for e in incident.custody],
        not_viewed_attestations=[NotViewedOut.of(e) for e in incident.not_viewed_attestations],
        viewing_agreements=[ViewingAgreementOut.of(e) for e in incident.viewing_agreements],
        viewings=[ViewingOut.of(e) for e in incident.viewings],
        containment=[ContainmentOut.of(e) for e in incident.containment],
        site_reports=[SiteReportOut.of(e) for e in incident.site_reports],
        deletion_requests=[DeletionRequestOut.of(e) for e in incident.deletion_requests],
        deletion_confirmations=[
            DeletionConfirmationOut.of(e) for e in incident.deletion_confirmations
        ],
        agencies_involved=incident.agencies_involved(),
    )
