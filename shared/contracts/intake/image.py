"""Step 3 as intake publishes it: what is done, and not done, with the image.

Every field is words or a code. The image is never recorded, so it is never published: what a
viewing saw is described in words, and those words are marked :data:`Personal`.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import AwareDatetime, Field

from shared.contracts import CaseEntryContract, Personal, register
from shared.vocabulary import ContainmentAction, CustodyAction, ViewerSex
from shared.vocabulary import Place as DeletionPlace

__all__ = ["ContainmentAction", "CustodyAction", "DeletionPlace"]


@register
class DeviceCustodyRecordedV1(CaseEntryContract):
    """Step 3: a link in a device's chain of custody. The device confiscated, switched off,
    sealed and secured; moved to another holder under a seal (a new seal says why in
    ``note``); or handed to the police, with the officer's reference."""

    subject: ClassVar[str] = "intake.device_custody.recorded.v1"

    device: Personal = Field(description="The device in words, e.g. 'YP-1's phone'.")
    pseudonym: Personal = Field(
        description="The young person whose device it is; empty for a device that is no "
        "young person's."
    )
    action: CustodyAction
    held_by: str = Field(
        description="Who holds the device from now on (the officer, once handed to the police)."
    )
    location: str = Field(description="Where the device is secured (may be empty on a hand-over).")
    seal_number: str
    switched_off: bool
    officer_reference: str = Field(
        default="", description="The police officer's reference for the hand-over; empty before it."
    )
    note: Personal = Field(default="", description="Why the seal was opened or changed.")


@register
class ImageNotViewedAttestedV1(CaseEntryContract):
    """Step 3: the member of staff who recorded it attests that they did not view the image."""

    subject: ClassVar[str] = "intake.image_not_viewed.attested.v1"

    context: Personal = Field(description="What they did with the device or the report, in words.")


@register
class ImageViewingAgreedV1(CaseEntryContract):
    """Step 3: the head (who recorded it) agreed that the DSL may view the image of a young
    person, because viewing it is unavoidable, and why."""

    subject: ClassVar[str] = "intake.image_viewing.agreed.v1"

    dsl: str = Field(description="The DSL who may view it.")
    pseudonym: Personal
    reason: Personal = Field(description="Why viewing the image is unavoidable.")


@register
class ImageViewedV1(CaseEntryContract):
    """Step 3: the DSL (who recorded it) viewed the image under the protocol: with the head's
    agreement, another senior member of staff present, on school premises, by someone of the
    same sex as the young person where possible; why, what was seen and what was done, in
    words."""

    subject: ClassVar[str] = "intake.image.viewed.v1"

    pseudonym: Personal = Field(description="The young person pictured.")
    viewer_sex: ViewerSex
    agreed_by: str = Field(description="The head who agreed to the viewing.")
    senior_present: str = Field(description="The other senior member of staff present.")
    on_school_premises: bool
    same_sex_not_possible_reason: Personal = Field(
        default="", description="Why no one of the young person's sex could view it."
    )
    reason: Personal = Field(description="Why the image was viewed.")
    what_was_seen: Personal = Field(description="What was seen, in words. Never the image.")
    what_was_done: Personal


@register
class ImageContainedV1(CaseEntryContract):
    """Step 3: the school network blocked to all users, or the image isolated."""

    subject: ClassVar[str] = "intake.image.contained.v1"

    action: ContainmentAction
    done_by: str
    # Where an isolated image is (a folder, an account) says whose it is, as the triage's
    # image locations do: personal, although the stored event does not list it so.
    where: Personal


@register
class ImageReportedToSiteV1(CaseEntryContract):
    """The image reported to the site or app hosting it, with the site's reference for the
    report."""

    subject: ClassVar[str] = "intake.image.reported_to_site.v1"

    site: str
    report_reference: str


@register
class DeletionRequestedV1(CaseEntryContract):
    """A young person asked to delete every copy of the image by a deadline, from the places
    named. Only asked while no other agency is involved: then the copies may be evidence."""

    subject: ClassVar[str] = "intake.deletion.requested.v1"

    pseudonym: Personal
    deadline: AwareDatetime
    places: tuple[DeletionPlace, ...] = Field(min_length=1)


@register
class DeletionConfirmedV1(CaseEntryContract):
    """A young person confirmed that they deleted every copy, and how. Confirmed after another
    agency became involved (``agencies_involved`` not empty), the case is for review: that
    agency must be told."""

    subject: ClassVar[str] = "intake.deletion.confirmed.v1"

    pseudonym: Personal
    how: Personal = Field(description="How the young person confirmed it, in words.")
    agencies_involved: tuple[str, ...] = Field(
        default=(),
        description="What intake knew of other agencies on the case when it was confirmed, "
        "by code (disclosed_by_another_agency, device_with_police; more may be added); empty "
        "while the school dealt with it alone.",
    )
