"""Step 3: what is done, and not done, with the image.

The school policy (appendix 8, step 3): confiscate and secure the device; do not view, send,
share or save the image; on a school network, block the network to all users and isolate the
image; do not move or print it. The national guidance (UKCIS 2020/2024) adds that viewing, only
if unavoidable, is by the DSL with the head's agreement, another senior member of staff present,
on school premises, by someone of the same sex as the young person where possible, and that the
record says who, why, what was seen and what was done; and that young people may be asked to
delete copies by a deadline only where no other agency is involved.

These are the checks; the record of each is an event of :class:`~services.intake.domain.Incident`.
Nothing here ever holds the image: what was seen is described in words.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from services.intake.domain.errors import IntakeError, NeedsReasonError

CUSTODY_ACTIONS = ("confiscated", "transferred", "handed_to_police")
VIEWER_SEXES = ("female", "male")
AGENCY_INVOLVEMENT = {
    "disclosed_by_another_agency": "the disclosure came from another agency",
    "device_with_police": "a device was handed to the police",
    "referred_to_police": "the DSL referred the case to the police",
    "reported_to_ceop": "the DSL reported the case to CEOP",
    "referred_to_childrens_social_care": "the DSL referred the case to children's social care",
}
REFERRAL_AGENCIES = {
    "police": "referred_to_police",
    "ceop": "reported_to_ceop",
    "childrens_social_care": "referred_to_childrens_social_care",
}
"""The referral service's actions that bring another agency in, and intake's code for each."""
"""How intake knows another agency is involved, by code, and what each code means."""
CONTAINMENT_ACTIONS = ("network_blocked", "image_isolated")
DELETION_PLACES = ("devices", "cloud_storage", "social_media_accounts")


class ViewingRefusedError(IntakeError):
    """A viewing of the image that the protocol does not allow; the message names the rule."""


class CustodyError(IntakeError):
    """A custody entry that does not follow from the device's chain so far."""


class AgencyInvolvedError(IntakeError):
    """Asking young people to delete copies once another agency is involved: the copies may
    be evidence, and deleting them is that agency's decision."""


class CustodyLink(Protocol):
    """What a custody check reads of the device's last entry."""

    @property
    def action(self) -> str: ...
    @property
    def held_by(self) -> str: ...
    @property
    def seal_number(self) -> str: ...
    @property
    def occurred_at(self) -> datetime: ...


def check_custody(
    device: str,
    action: str,
    *,
    held_by: str,
    location: str,
    seal_number: str,
    switched_off: bool,
    officer_reference: str,
    note: str,
    last: CustodyLink | None,
) -> None:
    """Refuse a custody entry that does not continue the device's chain.

    The chain starts with the device confiscated, switched off, sealed and secured; it moves
    from holder to holder under a seal (a new seal says why); it ends with the police, who
    take it with the officer's reference.
    """
    if action not in CUSTODY_ACTIONS:
        msg = f"action must be one of {', '.join(CUSTODY_ACTIONS)}"
        raise CustodyError(msg)
    for name, value in (("held_by", held_by), ("seal_number", seal_number)):
        if not value.strip():
            msg = f"{name}: every custody entry names who holds the device and its seal"
            raise CustodyError(msg)
    if last is not None and last.action == "handed_to_police":
        msg = f"{device} has been with the police since {last.occurred_at:%Y-%m-%d %H:%M}"
        raise CustodyError(msg)
    if action == "confiscated":
        if last is not None:
            msg = f"{device} is in custody already, held by {last.held_by}: record a transfer"
            raise CustodyError(msg)
        if not switched_off:
            msg = "a confiscated device is switched off before it is secured"
            raise CustodyError(msg)
        if not location.strip():
            msg = "location: where the device is secured"
            raise CustodyError(msg)
        return
    if last is None:
        msg = f"{device} is not in custody: record it confiscated first"
        raise CustodyError(msg)
    if action == "transferred" and not location.strip():
        msg = "location: where the device is secured now"
        raise CustodyError(msg)
    if action == "handed_to_police" and not officer_reference.strip():
        msg = "officer_reference: the police officer's reference for the hand-over"
        raise CustodyError(msg)
    if seal_number != last.seal_number and not note.strip():
        msg = (
            f"the seal was {last.seal_number}, now {seal_number}: the note says why it was "
            "opened or changed"
        )
        raise NeedsReasonError(msg, field="note")


def check_viewer_is_the_dsl(*, named: str, case_dsl: str | None) -> None:
    """Refuse the head's agreement to a viewing by anyone but the DSL who has the case."""
    if case_dsl is None:
        msg = (
            f"viewing is by the DSL: the agreement names {named}, but no DSL has taken the "
            "case yet; record the DSL who takes it first"
        )
        raise ViewingRefusedError(msg)
    if named.strip() != case_dsl:
        msg = (
            f"viewing is by the DSL: the agreement names {named}, who is not the DSL who has "
            f"the case ({case_dsl}); hand the case over first, with the reason, if they are to "
            "view it"
        )
        raise ViewingRefusedError(msg)


def check_viewing(
    *,
    viewer: str,
    viewer_role: str,
    viewer_sex: str,
    agreed_by_head: bool,
    senior_present: str,
    on_school_premises: bool,
    young_person_sex: str,
    same_sex_not_possible_reason: str,
    reason: str,
    what_was_seen: str,
    what_was_done: str,
) -> None:
    """Refuse a record of viewing the image unless every part of the protocol is met."""
    if viewer_sex not in VIEWER_SEXES:
        msg = f"viewer_sex must be one of {', '.join(VIEWER_SEXES)}"
        raise IntakeError(msg)
    refusals = []
    if viewer_role != "dsl":
        refusals.append("only the DSL views the image, never any other member of staff")
    if not agreed_by_head:
        refusals.append(
            f"the head has not agreed to {viewer} viewing it (each agreement is for one viewing)"
        )
    if not senior_present.strip() or senior_present.strip() == viewer:
        refusals.append("another senior member of staff must be present, named")
    if not on_school_premises:
        refusals.append("viewing happens on school premises only")
    if viewer_sex != young_person_sex and not same_sex_not_possible_reason.strip():
        refusals.append(
            "the viewer is not of the same sex as the young person: say why that was not possible"
        )
    for field, value in (
        ("reason", reason),
        ("what_was_seen", what_was_seen),
        ("what_was_done", what_was_done),
    ):
        if not value.strip():
            refusals.append(f"{field} is required: the record says why, what was seen and done")
    if refusals:
        raise ViewingRefusedError("viewing refused: " + "; ".join(refusals))


def check_deletion_request(deadline: datetime, occurred_at: datetime, places: list[str]) -> None:
    if deadline.tzinfo is None:
        msg = "deadline needs a time zone"
        raise IntakeError(msg)
    if deadline <= occurred_at:
        msg = "deadline: the deadline comes after the request"
        raise IntakeError(msg)
    unknown = sorted(set(places) - set(DELETION_PLACES))
    if not places or unknown or len(set(places)) != len(places):
        msg = f"places: one or more of {', '.join(DELETION_PLACES)}"
        raise IntakeError(msg)


def describe_agencies(codes: list[str]) -> str:
    return "; ".join(AGENCY_INVOLVEMENT.get(code, code) for code in codes)


def check_no_agency(agencies: list[str]) -> None:
    """Deletion is asked for only while the school deals with the incident alone."""
    if agencies:
        msg = (
            f"another agency is involved ({describe_agencies(agencies)}): young people are not "
            "asked to delete copies, which may be evidence"
        )
        raise AgencyInvolvedError(msg)
