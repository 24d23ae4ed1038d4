"""Step 3: what is done, and not done, with the image, recorded as it happens.

The school policy (appendix 8, step 3): confiscate and secure the device; do not view, send,
share or save the image; on a school network, block the network to all users and isolate the
image; do not move or print it. The national guidance (UKCIS 2020/2024) adds that viewing, only
if unavoidable, is by the DSL with the head's agreement, another senior member of staff present,
on school premises, by someone of the same sex as the young person where possible, and that the
record says who, why, what was seen and what was done; and that young people may be asked to
delete copies by a deadline only where no other agency is involved.

Each kind of entry is declared here whole: its fields, its rules, who may record it. Nothing
here ever holds the image: what was seen is described in words, and every free-text field
refuses an image or a link to one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from annotated_types import MaxLen, MinLen

from services.intake.domain.errors import (
    AgencyInvolvedError,
    CustodyError,
    IntakeError,
    NeedsReasonError,
    ViewingRefusedError,
)
from shared.entries import CaseEntry, Recording
from shared.imagery import FreeText
from shared.vocabulary import (
    ContainmentAction,
    CustodyAction,
    Doc,
    Name,
    Note,
    Place,
    Pseudonym,
    PseudonymOrNone,
    ViewerSex,
    Words,
)

AGENCY_INVOLVEMENT = {
    "disclosed_by_another_agency": "the disclosure came from another agency",
    "device_with_police": "a device was handed to the police",
    "referred_to_police": "the DSL referred the case to the police",
    "reported_to_ceop": "the DSL reported the case to CEOP",
    "referred_to_childrens_social_care": "the DSL referred the case to children's social care",
}
"""How intake knows another agency is involved, by code, and what each code means."""
REFERRAL_AGENCIES = {
    "police": "referred_to_police",
    "ceop": "reported_to_ceop",
    "childrens_social_care": "referred_to_childrens_social_care",
}
"""The referral service's actions that bring another agency in, and intake's code for each."""

ANYONE = ("staff", "dsl", "head")
DECIDERS = ("dsl", "head")
Words200 = Annotated[FreeText, MinLen(1), MaxLen(200)]


def describe_agencies(codes: list[str]) -> str:
    return "; ".join(AGENCY_INVOLVEMENT.get(code, code) for code in codes)


class DeviceCustodyRecorded(CaseEntry):
    """Step 3: the next link of a device's custody chain: confiscated (switched off, sealed,
    secured), moved to another holder, or handed to the police with the officer's reference."""

    KEPT_IN = "custody"
    STEP = 3
    ROUTE = "custody"
    RECORDED_BY = ANYONE
    PERSONAL_FIELDS = ("device", "pseudonym", "note")

    device: Annotated[Name, Doc("e.g. YP-2's phone")]
    action: CustodyAction
    held_by: Annotated[Name, Doc("Who holds the device now.")]
    seal_number: Name
    switched_off: bool
    pseudonym: Annotated[
        PseudonymOrNone, Doc("The young person whose device it is; empty if no one's.")
    ] = ""
    location: Annotated[FreeText, MaxLen(200), Doc("Where it is secured; not for a hand-over.")] = (
        ""
    )
    officer_reference: Annotated[
        FreeText, MaxLen(200), Doc("The police officer's reference: a hand-over.")
    ] = ""
    note: Annotated[Note, Doc("Why the seal was opened or changed.")] = ""

    @classmethod
    def check(cls, case: Any, by: Recording, facts: dict[str, Any]) -> dict[str, Any]:
        """Refused (422) unless it continues the chain: confiscated first (switched off,
        sealed, secured), then transferred, then handed to the police with the officer's
        reference, after which nothing more. A changed seal needs a ``note`` saying why."""
        if facts.get("pseudonym"):
            case.young_person(facts["pseudonym"])
        device, action = facts["device"], facts["action"]
        last = case.custody_of(device)
        for name in ("held_by", "seal_number"):
            if not facts[name].strip():
                msg = f"{name}: every custody entry names who holds the device and its seal"
                raise CustodyError(msg)
        if last is not None and last.action == "handed_to_police":
            msg = f"{device} has been with the police since {last.occurred_at:%Y-%m-%d %H:%M}"
            raise CustodyError(msg)
        location = facts.get("location", "")
        if action == "confiscated":
            if last is not None:
                msg = f"{device} is in custody already, held by {last.held_by}: record a transfer"
                raise CustodyError(msg)
            if not facts["switched_off"]:
                msg = "a confiscated device is switched off before it is secured"
                raise CustodyError(msg)
            if not location.strip():
                msg = "location: where the device is secured"
                raise CustodyError(msg)
            return facts
        if last is None:
            msg = f"{device} is not in custody: record it confiscated first"
            raise CustodyError(msg)
        if action == "transferred" and not location.strip():
            msg = "location: where the device is secured now"
            raise CustodyError(msg)
        if action == "handed_to_police" and not facts.get("officer_reference", "").strip():
            msg = "officer_reference: the police officer's reference for the hand-over"
            raise CustodyError(msg)
        if facts["seal_number"] != last.seal_number and not facts.get("note", "").strip():
            msg = (
                f"the seal was {last.seal_number}, now {facts['seal_number']}: the note says "
                "why it was opened or changed"
            )
            raise NeedsReasonError(msg, field="note")
        return facts


class ImageNotViewedAttested(CaseEntry):
    """Step 3: you attest that you did not view the image."""

    KEPT_IN = "not_viewed_attestations"
    STEP = 3
    ROUTE = "not-viewed-attestations"
    RECORDED_BY = ANYONE
    PERSONAL_FIELDS = ("context",)

    context: Annotated[Words, Doc("e.g. Invented: YP-2 offered to show me; I did not look.")]

    @classmethod
    def check(cls, case: Any, by: Recording, facts: dict[str, Any]) -> dict[str, Any]:
        """Refused if you are recorded as having viewed it."""
        viewed = [v for v in case.viewings if v.recorded_by == by.recorded_by]
        if viewed:
            msg = (
                f"{by.recorded_by} is recorded as viewing the image at "
                f"{viewed[0].occurred_at:%Y-%m-%d %H:%M}"
            )
            raise IntakeError(msg)
        return facts


class ImageViewingAgreed(CaseEntry):
    """Step 3: the head agrees, with the reason, that the DSL may view the image of a young
    person, because it is unavoidable."""

    KEPT_IN = "viewing_agreements"
    STEP = 3
    ROUTE = "viewing-agreements"
    RECORDED_BY = ("head",)
    PERSONAL_FIELDS = ("pseudonym", "reason")

    dsl: Annotated[Name, Doc("The DSL who may view it: the DSL who has the case.")]
    pseudonym: Annotated[Pseudonym, Doc("The young person pictured.")]
    reason: Annotated[Words, Doc("Why viewing is unavoidable.")]

    @classmethod
    def check(cls, case: Any, by: Recording, facts: dict[str, Any]) -> dict[str, Any]:
        """Refused (422: viewing is by the DSL) unless it names the DSL who has the case
        (``POST /cases/{id}/dsl``): not before a DSL has taken the case, and not for anyone
        else, a deputy DSL included, until the case is handed to them.

        The guidance: viewing, if unavoidable, is by the DSL. What this case records of who its
        DSL is, is the DSL who took it (by a DSL or the head; a handover names the next one,
        with the reason). So the agreement must name that person, as the case stands when it
        is recorded, since it is for a viewing still to come. The role shown on someone's
        earlier entries is not used: it says what their token was then, not that they have
        this case. Agreements recorded before this rule load as they are, since the rule is
        checked here, not when they apply."""
        if by.recorded_by_role != "head":
            msg = "only the head agrees to the image being viewed"
            raise ViewingRefusedError(msg)
        if not facts["reason"].strip():
            msg = "the head's agreement to a viewing says why it is unavoidable"
            raise NeedsReasonError(msg)
        case.young_person(facts["pseudonym"])
        named = facts["dsl"]
        if case.dsl is None:
            msg = (
                f"viewing is by the DSL: the agreement names {named}, but no DSL has taken the "
                "case yet; record the DSL who takes it first"
            )
            raise ViewingRefusedError(msg)
        if named.strip() != case.dsl:
            msg = (
                f"viewing is by the DSL: the agreement names {named}, who is not the DSL who "
                f"has the case ({case.dsl}); hand the case over first, with the reason, if they "
                "are to view it"
            )
            raise ViewingRefusedError(msg)
        return facts


class ImageViewed(CaseEntry):
    """Step 3: the DSL viewed the image under the protocol. What was seen is described in
    words; an image, or a link to one, is refused."""

    KEPT_IN = "viewings"
    STEP = 3
    ROUTE = "viewings"
    RECORDED_BY = ANYONE
    WORKED_OUT = ("agreed_by",)
    PERSONAL_FIELDS = (
        "pseudonym",
        "same_sex_not_possible_reason",
        "reason",
        "what_was_seen",
        "what_was_done",
    )

    pseudonym: Annotated[Pseudonym, Doc("The young person pictured.")]
    viewer_sex: ViewerSex
    agreed_by: str
    senior_present: Annotated[Name, Doc("The other senior member of staff present.")]
    on_school_premises: bool
    reason: Annotated[Words, Doc("Why viewing was unavoidable.")]
    what_was_seen: Annotated[Words, Doc("What was seen, described in words.")]
    what_was_done: Words
    same_sex_not_possible_reason: Annotated[
        Note, Doc("Why no one of the young person's sex could view it, if no one could.")
    ] = ""

    @classmethod
    def check(cls, case: Any, by: Recording, facts: dict[str, Any]) -> dict[str, Any]:
        """Refused (422, naming each rule broken) unless the protocol was followed: only the
        DSL, with the head's agreement (each agreement is for one viewing), another senior
        member of staff present, on school premises, of the young person's sex where
        possible, and the record says why, what was seen and what was done."""
        pseudonym = facts["pseudonym"]
        pictured = case.young_people.get(pseudonym)
        if pictured is None and by.recorded_by_role == "dsl":
            case.young_person(pseudonym)  # refused: not on this case
        key = (by.recorded_by, pseudonym)
        agreed = [a for a in case.viewing_agreements if (a.dsl, a.pseudonym) == key]
        used = sum(1 for v in case.viewings if (v.recorded_by, v.pseudonym) == key)
        refusals = []
        if by.recorded_by_role != "dsl":
            refusals.append("only the DSL views the image, never any other member of staff")
        if len(agreed) <= used:
            refusals.append(
                f"the head has not agreed to {by.recorded_by} viewing it "
                "(each agreement is for one viewing)"
            )
        senior = facts["senior_present"].strip()
        if not senior or senior == by.recorded_by:
            refusals.append("another senior member of staff must be present, named")
        if not facts["on_school_premises"]:
            refusals.append("viewing happens on school premises only")
        young_person_sex = pictured.sex if pictured else "not_recorded"
        if (
            facts["viewer_sex"] != young_person_sex
            and not facts.get("same_sex_not_possible_reason", "").strip()
        ):
            refusals.append(
                "the viewer is not of the same sex as the young person: say why that was not "
                "possible"
            )
        for field in ("reason", "what_was_seen", "what_was_done"):
            if not facts[field].strip():
                refusals.append(f"{field} is required: the record says why, what was seen and done")
        if refusals:
            raise ViewingRefusedError("viewing refused: " + "; ".join(refusals))
        return {**facts, "agreed_by": agreed[used].recorded_by}


class ImageContained(CaseEntry):
    """Step 3: the school network blocked to all users, or the image isolated (never moved,
    printed or copied)."""

    KEPT_IN = "containment"
    STEP = 3
    ROUTE = "containment"
    RECORDED_BY = ANYONE
    PERSONAL_FIELDS = ("where",)

    action: ContainmentAction
    done_by: Words200
    where: Annotated[Words200, Doc("e.g. the school network")]


class ImageReportedToSite(CaseEntry):
    """The image reported to the site hosting it, with the site's reference (step 3, and the
    policy's step 6)."""

    KEPT_IN = "site_reports"
    STEP = 3
    ROUTE = "site-reports"
    RECORDED_BY = ANYONE

    site: Annotated[Words200, Doc("e.g. Invented social site")]
    report_reference: Words200


class DeletionRequested(CaseEntry):
    """A young person asked to delete every copy by a deadline."""

    KEPT_IN = "deletion_requests"
    STEP = 3
    ROUTE = "deletion-requests"
    RECORDED_BY = DECIDERS
    PERSONAL_FIELDS = ("pseudonym",)

    pseudonym: Pseudonym
    deadline: datetime
    places: Annotated[
        list[Place], MinLen(1), MaxLen(3), Doc("Where every copy is to be deleted from.")
    ]

    @classmethod
    def check(cls, case: Any, by: Recording, facts: dict[str, Any]) -> dict[str, Any]:
        """Refused (422) once another agency is involved (the disclosure came from one, or a
        device went to the police): the copies may be evidence."""
        case.young_person(facts["pseudonym"])
        deadline, places = facts["deadline"], facts["places"]
        if deadline.tzinfo is None:
            msg = "deadline needs a time zone"
            raise IntakeError(msg)
        if deadline <= by.occurred_at:
            msg = "deadline: the deadline comes after the request"
            raise IntakeError(msg)
        if not places or len(set(places)) != len(places):
            msg = "places: one or more of devices, cloud_storage, social_media_accounts"
            raise IntakeError(msg)
        if agencies := case.agencies_involved():
            msg = (
                f"another agency is involved ({describe_agencies(agencies)}): young people are "
                "not asked to delete copies, which may be evidence"
            )
            raise AgencyInvolvedError(msg)
        return facts


class DeletionConfirmed(CaseEntry):
    """The young person confirmed deleting every copy they were asked to. Recorded even once
    another agency is involved, and then the case is flagged for review: tell that agency."""

    KEPT_IN = "deletion_confirmations"
    STEP = 3
    ROUTE = "deletion-confirmations"
    RECORDED_BY = DECIDERS
    WORKED_OUT = ("agencies_involved",)
    PERSONAL_FIELDS = ("pseudonym", "how")

    pseudonym: Pseudonym
    how: Annotated[Words, Doc("e.g. Invented: told the DSL in person")]
    agencies_involved: list[str]

    @classmethod
    def check(cls, case: Any, by: Recording, facts: dict[str, Any]) -> dict[str, Any]:
        """A confirmation answers a request; it is a fact, so it is recorded even once another
        agency is involved."""
        if not any(r.pseudonym == facts["pseudonym"] for r in case.deletion_requests):
            msg = f"{facts['pseudonym']} was not asked to delete copies: record the request first"
            raise IntakeError(msg)
        return {**facts, "agencies_involved": case.agencies_involved()}

    def apply(self, aggregate: Any) -> None:
        super().apply(aggregate)
        if self.agencies_involved:
            aggregate.flagged_for_review.append(
                f"{self.pseudonym} confirmed deleting copies after another agency became "
                f"involved ({describe_agencies(self.agencies_involved)}): tell that agency"
            )


STEP_3 = (
    DeviceCustodyRecorded,
    ImageNotViewedAttested,
    ImageViewingAgreed,
    ImageViewed,
    ImageContained,
    ImageReportedToSite,
    DeletionRequested,
    DeletionConfirmed,
)
