"""Intake's aggregates: the incident (the case) and the per-school reference sequence.

The aggregates live in this module itself, so that the topics of stored events stay
``services.intake.domain:Incident.…``; vocabulary and checks live in its submodules.

Every entry records who did it, when it happened (``occurred_at``) and when it was recorded
(``recorded_at``), so that a record written up later from paper is honest about both.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from services.intake.domain.errors import (
    CLOCK_SKEW,
    IntakeError,
    NeedsReasonError,
    check_occurred_before_recorded,
)
from services.intake.domain.image import (
    CONTAINMENT_ACTIONS,
    REFERRAL_AGENCIES,
    AgencyInvolvedError,
    CustodyError,
    ViewingRefusedError,
    check_custody,
    check_deletion_request,
    check_no_agency,
    check_viewer_is_the_dsl,
    check_viewing,
    describe_agencies,
)
from services.intake.domain.leadership import Informed, check_informed
from services.intake.domain.search import (
    DeclinedSearch,
    Search,
    SearchAuthorisation,
    SearchConditionError,
    check_search,
    unmet_conditions,
)
from services.intake.domain.triage import (
    ASKED_AS_ONE,
    IMAGE_LOCATION_KINDS,
    MULTI_ANSWER,
    REFERRAL_FACTS,
    STEP_1_QUESTIONS,
    TRIAGE_ANSWERS,
    UNKNOWN,
    Triage,
    asked_as_one,
    check_image_locations,
    complete_answers,
)
from services.intake.domain.young_people import YoungPerson, checked_young_person
from shared.application import NAMESPACE
from shared.entries import CaseEntry, Recording

__all__ = [
    "ASKED_AS_ONE",
    "CLOCK_SKEW",
    "DISCLOSURE_ROUTES",
    "IMAGE_LOCATION_KINDS",
    "MULTI_ANSWER",
    "REFERRAL_FACTS",
    "STEP_1_QUESTIONS",
    "TRIAGE_ANSWERS",
    "UNKNOWN",
    "AgencyInvolvedError",
    "CaseEntry",
    "CustodyError",
    "DeclinedSearch",
    "Incident",
    "Informed",
    "IntakeError",
    "NeedsReasonError",
    "Recording",
    "ReferenceSequence",
    "Search",
    "SearchAuthorisation",
    "SearchConditionError",
    "Triage",
    "ViewingRefusedError",
    "YoungPerson",
    "asked_as_one",
    "check_disclosure_route",
    "check_occurred_before_recorded",
    "checked_young_person",
    "complete_answers",
]

DISCLOSURE_ROUTES = (
    "young_person",
    "peer",
    "staff_discovery",
    "parent_or_carer",
    "other_agency",
    "anonymous",
)


class Incident(Aggregate):
    """One incident disclosed at a school: the case, from step 1 on."""

    class Reported(Aggregate.Created):
        """A member of staff recorded a disclosure."""

        PERSONAL_FIELDS: ClassVar[tuple[str, ...]] = ("summary",)

        school: str
        reference: str
        disclosure_route: str
        summary: str
        recorded_by: str
        recorded_by_role: str
        occurred_at: datetime
        recorded_at: datetime

    @event(Reported)
    def __init__(
        self,
        id: UUID,
        school: str,
        reference: str,
        disclosure_route: str,
        summary: str,
        recorded_by: str,
        recorded_by_role: str,
        occurred_at: datetime,
        recorded_at: datetime,
    ) -> None:
        check_disclosure_route(disclosure_route)
        check_occurred_before_recorded(occurred_at, recorded_at)
        self.school = school
        self.reference = reference
        self.disclosure_route = disclosure_route
        self.summary = summary
        self.recorded_by = recorded_by
        self.recorded_by_role = recorded_by_role
        self.occurred_at = occurred_at
        self.recorded_at = recorded_at
        self.triage: list[Triage] = []
        self.triage_keys: dict[str, int] = {}
        # Each young person as last recorded, and every record of them in order.
        self.young_people: dict[str, YoungPerson] = {}
        self.young_people_history: list[YoungPerson] = []
        self.young_person_keys: dict[str, int] = {}
        self.informed: list[Informed] = []
        self.informed_keys: dict[str, int] = {}
        self.dsl: str | None = None
        self.search_authorisations: list[SearchAuthorisation] = []
        self.searches: list[Search] = []
        self.searches_declined: list[DeclinedSearch] = []
        self.search_keys: dict[str, int] = {}
        self.flagged_for_review: list[str] = []
        # Step 3, each entry kept as its event (see CaseEntry.KEPT_IN).
        self.custody: list[Incident.DeviceCustodyRecorded] = []
        self.not_viewed_attestations: list[Incident.ImageNotViewedAttested] = []
        self.viewing_agreements: list[Incident.ImageViewingAgreed] = []
        self.viewings: list[Incident.ImageViewed] = []
        self.containment: list[Incident.ImageContained] = []
        self.site_reports: list[Incident.ImageReportedToSite] = []
        self.deletion_requests: list[Incident.DeletionRequested] = []
        self.deletion_confirmations: list[Incident.DeletionConfirmed] = []
        self.entry_keys: dict[str, CaseEntry] = {}
        self.referred_to: list[str] = []

    def _record(self, kind: type[CaseEntry], by: Recording, **fields: Any) -> None:
        self.trigger_event(
            kind, school=self.school, reference=self.reference, **by.fields(), **fields
        )

    class DeviceCustodyRecorded(CaseEntry):
        """Step 3: a device confiscated, switched off and sealed; moved to another holder; or
        handed to the police, with the officer's reference."""

        KEPT_IN = "custody"
        PERSONAL_FIELDS: ClassVar[tuple[str, ...]] = ("device", "pseudonym", "note")

        device: str
        pseudonym: str
        action: str
        held_by: str
        location: str
        seal_number: str
        switched_off: bool
        officer_reference: str
        note: str

    def record_custody(self, by: Recording, *, pseudonym: str, **details: Any) -> None:
        """Continue a device's custody chain (see :func:`check_custody`); ``pseudonym`` is the
        young person whose device it is, if it is one's."""
        if pseudonym:
            self._young_person(pseudonym)
        check_custody(**details, last=self.custody_of(details["device"]))
        self._record(self.DeviceCustodyRecorded, by, pseudonym=pseudonym, **details)

    def custody_of(self, device: str) -> DeviceCustodyRecorded | None:
        """The device's last custody entry, if it has one."""
        return next((c for c in reversed(self.custody) if c.device == device), None)

    class ImageNotViewedAttested(CaseEntry):
        """Step 3: a member of staff attests that they did not view the image."""

        KEPT_IN = "not_viewed_attestations"
        PERSONAL_FIELDS: ClassVar[tuple[str, ...]] = ("context",)

        context: str

    def attest_not_viewed(self, by: Recording, context: str) -> None:
        """A member of staff's own attestation; refused from one recorded as having viewed it."""
        viewed = [v for v in self.viewings if v.recorded_by == by.recorded_by]
        if viewed:
            msg = (
                f"{by.recorded_by} is recorded as viewing the image at "
                f"{viewed[0].occurred_at:%Y-%m-%d %H:%M}"
            )
            raise IntakeError(msg)
        self._record(self.ImageNotViewedAttested, by, context=context)

    class ImageViewingAgreed(CaseEntry):
        """Step 3: the head agreed that the DSL may view the image of a young person."""

        KEPT_IN = "viewing_agreements"
        PERSONAL_FIELDS: ClassVar[tuple[str, ...]] = ("pseudonym", "reason")

        dsl: str
        pseudonym: str
        reason: str

    def agree_viewing(self, by: Recording, dsl: str, pseudonym: str, reason: str) -> None:
        """Only the head agrees, only to a viewing with a reason, and only by the DSL who has
        the case.

        The guidance: viewing, if unavoidable, is by the DSL. What this case records of who
        its DSL is, is the DSL who took it (:meth:`assign_dsl`, by a DSL or the head; a
        handover names the next one, with the reason). So the agreement must name that
        person, as the case stands when it is recorded, since it is for a viewing still to
        come; before any DSL has taken the case it names no one who may view. That is the
        strictest rule the record supports. It is stricter than "anyone with the DSL role":
        a deputy DSL views only once the case is handed to them, and the handover says why.
        The role shown on someone's earlier entries is not used: it says what their token was
        then, not that they have this case. The viewing is still checked against the viewer's
        own role (:func:`check_viewing`). Agreements recorded before this rule are stored
        events: they load as they are, since the rule is checked here, not when they apply.
        """
        if by.recorded_by_role != "head":
            msg = "only the head agrees to the image being viewed"
            raise ViewingRefusedError(msg)
        if not reason.strip():
            msg = "the head's agreement to a viewing says why it is unavoidable"
            raise NeedsReasonError(msg)
        self._young_person(pseudonym)
        check_viewer_is_the_dsl(named=dsl, case_dsl=self.dsl)
        self._record(self.ImageViewingAgreed, by, dsl=dsl, pseudonym=pseudonym, reason=reason)

    class ImageViewed(CaseEntry):
        """Step 3: the DSL viewed the image under the protocol; what was seen, in words."""

        KEPT_IN = "viewings"
        PERSONAL_FIELDS: ClassVar[tuple[str, ...]] = (
            "pseudonym",
            "same_sex_not_possible_reason",
            "reason",
            "what_was_seen",
            "what_was_done",
        )

        pseudonym: str
        viewer_sex: str
        agreed_by: str
        senior_present: str
        on_school_premises: bool
        same_sex_not_possible_reason: str
        reason: str
        what_was_seen: str
        what_was_done: str

    def record_viewing(self, by: Recording, *, pseudonym: str, **details: Any) -> None:
        """Refused (naming each rule broken) unless the protocol was followed; ``pseudonym``
        is the young person pictured, whose sex the same-sex rule compares. Each of the head's
        agreements is for one viewing."""
        pictured = self.young_people.get(pseudonym)
        if pictured is None and by.recorded_by_role == "dsl":
            self._young_person(pseudonym)  # refused: not on this case
        key = (by.recorded_by, pseudonym)
        agreed = [a for a in self.viewing_agreements if (a.dsl, a.pseudonym) == key]
        used = sum(1 for v in self.viewings if (v.recorded_by, v.pseudonym) == key)
        check_viewing(
            viewer=by.recorded_by,
            viewer_role=by.recorded_by_role,
            agreed_by_head=len(agreed) > used,
            young_person_sex=pictured.sex if pictured else "not_recorded",
            **details,
        )
        self._record(
            self.ImageViewed, by, pseudonym=pseudonym, agreed_by=agreed[used].recorded_by, **details
        )

    class ImageContained(CaseEntry):
        """Step 3: the school network blocked to all users, or the image isolated."""

        KEPT_IN = "containment"
        PERSONAL_FIELDS: ClassVar[tuple[str, ...]] = ("where",)

        action: str
        done_by: str
        where: str

    def record_containment(self, by: Recording, action: str, done_by: str, where: str) -> None:
        if action not in CONTAINMENT_ACTIONS:
            msg = f"action must be one of {', '.join(CONTAINMENT_ACTIONS)}"
            raise IntakeError(msg)
        self._record(self.ImageContained, by, action=action, done_by=done_by, where=where)

    class ImageReportedToSite(CaseEntry):
        """Step 3, and the policy's step 6: the image reported to the site hosting it, with
        the site's reference."""

        KEPT_IN = "site_reports"

        site: str
        report_reference: str

    def record_site_report(self, by: Recording, site: str, report_reference: str) -> None:
        self._record(self.ImageReportedToSite, by, site=site, report_reference=report_reference)

    class DeletionRequested(CaseEntry):
        """A young person asked to delete every copy by a deadline (no other agency involved)."""

        KEPT_IN = "deletion_requests"
        PERSONAL_FIELDS: ClassVar[tuple[str, ...]] = ("pseudonym",)

        pseudonym: str
        deadline: datetime
        places: list[str]

    def request_deletion(
        self, by: Recording, pseudonym: str, deadline: datetime, places: list[str]
    ) -> None:
        """Refused once another agency is involved: the copies may be evidence."""
        self._young_person(pseudonym)
        check_deletion_request(deadline, by.occurred_at, places)
        check_no_agency(self.agencies_involved())
        self._record(
            self.DeletionRequested, by, pseudonym=pseudonym, deadline=deadline, places=places
        )

    class DeletionConfirmed(CaseEntry):
        """The young person confirmed they deleted every copy. Confirmed after another agency
        became involved, the case is flagged: that agency must be told."""

        KEPT_IN = "deletion_confirmations"
        PERSONAL_FIELDS: ClassVar[tuple[str, ...]] = ("pseudonym", "how")

        pseudonym: str
        how: str
        agencies_involved: list[str]

        def apply(self, aggregate: Any) -> None:
            super().apply(aggregate)
            if self.agencies_involved:
                aggregate.flagged_for_review.append(
                    f"{self.pseudonym} confirmed deleting copies after another agency became "
                    f"involved ({describe_agencies(self.agencies_involved)}): tell that agency"
                )

    def confirm_deletion(self, by: Recording, pseudonym: str, how: str) -> None:
        """A confirmation answers a request; it is a fact, so it is recorded even once another
        agency is involved, and flags the case."""
        if not any(r.pseudonym == pseudonym for r in self.deletion_requests):
            msg = f"{pseudonym} was not asked to delete copies: record the request first"
            raise IntakeError(msg)
        self._record(
            self.DeletionConfirmed,
            by,
            pseudonym=pseudonym,
            how=how,
            agencies_involved=self.agencies_involved(),
        )

    def agencies_involved(self) -> list[str]:
        """What intake knows of other agencies on the case, by code."""
        agencies = []
        if self.disclosure_route == "other_agency":
            agencies.append("disclosed_by_another_agency")
        if any(c.action == "handed_to_police" for c in self.custody):
            agencies.append("device_with_police")
        return agencies + [a for a in self.referred_to if a not in agencies]

    class AgencyReferralNoted(Aggregate.Event):
        """The referral service published that the DSL brought another agency in (a police
        referral, a CEOP report, a referral to children's social care)."""

        agency: str
        noted_from: str
        occurred_at: datetime

        def apply(self, aggregate: Any) -> None:
            if self.agency not in aggregate.referred_to:
                aggregate.referred_to.append(self.agency)

    def note_agency_referral(self, action: str, noted_from: str, occurred_at: datetime) -> None:
        """Note a referral made in the referral service; any other action is no agency's."""
        agency = REFERRAL_AGENCIES.get(action)
        if agency is not None:
            self.trigger_event(
                self.AgencyReferralNoted,
                agency=agency,
                noted_from=noted_from,
                occurred_at=occurred_at,
            )

    class SearchAuthorised(Aggregate.Event):
        """Step 2: the head authorised a named person to search a young person's device."""

        school: str
        reference: str
        searcher: str
        pseudonym: str
        authorised_by: str
        occurred_at: datetime
        recorded_at: datetime

    def authorise_search(
        self,
        searcher: str,
        pseudonym: str,
        authorised_by: str,
        authorised_by_role: str,
        occurred_at: datetime,
        recorded_at: datetime,
    ) -> None:
        """Only the head authorises; the same authorisation again changes nothing."""
        check_occurred_before_recorded(occurred_at, recorded_at)
        if authorised_by_role != "head":
            msg = "only the head authorises a device search"
            raise SearchConditionError(msg)
        self._young_person(pseudonym)
        if any(
            (a.searcher, a.pseudonym) == (searcher, pseudonym) for a in self.search_authorisations
        ):
            return
        self._search_authorised(
            school=self.school,
            reference=self.reference,
            searcher=searcher,
            pseudonym=pseudonym,
            authorised_by=authorised_by,
            occurred_at=occurred_at,
            recorded_at=recorded_at,
        )

    @event(SearchAuthorised)
    def _search_authorised(
        self,
        school: str,
        reference: str,
        searcher: str,
        pseudonym: str,
        authorised_by: str,
        occurred_at: datetime,
        recorded_at: datetime,
    ) -> None:
        self.search_authorisations.append(
            SearchAuthorisation(searcher, pseudonym, authorised_by, occurred_at, recorded_at)
        )

    class DeviceSearched(Aggregate.Event):
        """Step 2: a device searched under the conditions, or under the emergency exception."""

        PERSONAL_FIELDS: ClassVar[tuple[str, ...]] = ("pseudonym", "device")

        school: str
        reference: str
        pseudonym: str
        device: str
        searcher: str
        searcher_sex: str
        safeguarding_team_member: str
        outcome: str
        emergency: bool
        emergency_justification: str
        conditions_not_met: list[str]
        recorded_by: str
        recorded_by_role: str
        occurred_at: datetime
        recorded_at: datetime
        idempotency_key: str

    def record_search(
        self,
        pseudonym: str,
        device: str,
        searcher: str,
        searcher_sex: str,
        policy_followed: bool,
        safeguarding_team_member: str,
        outcome: str,
        emergency: bool,
        emergency_justification: str,
        recorded_by: str,
        recorded_by_role: str,
        occurred_at: datetime,
        recorded_at: datetime,
        idempotency_key: str = "",
    ) -> None:
        """A search, checked against the four conditions as the record stands."""
        check_occurred_before_recorded(occurred_at, recorded_at)
        young_person = self._young_person(pseudonym)
        unmet = unmet_conditions(
            policy_followed=policy_followed,
            searcher=searcher,
            searcher_is_head=recorded_by_role == "head" and searcher == recorded_by,
            authorised_searchers={
                a.searcher for a in self.search_authorisations if a.pseudonym == pseudonym
            },
            safeguarding_team_member=safeguarding_team_member,
            searcher_sex=searcher_sex,
            young_person_sex=young_person.sex,
        )
        check_search(
            unmet,
            emergency=emergency,
            emergency_justification=emergency_justification,
            outcome=outcome,
        )
        self._searched(
            school=self.school,
            reference=self.reference,
            pseudonym=pseudonym,
            device=device,
            searcher=searcher,
            searcher_sex=searcher_sex,
            safeguarding_team_member=safeguarding_team_member,
            outcome=outcome,
            emergency=emergency,
            emergency_justification=emergency_justification,
            conditions_not_met=unmet,
            recorded_by=recorded_by,
            recorded_by_role=recorded_by_role,
            occurred_at=occurred_at,
            recorded_at=recorded_at,
            idempotency_key=idempotency_key,
        )

    @event(DeviceSearched)
    def _searched(
        self,
        school: str,
        reference: str,
        pseudonym: str,
        device: str,
        searcher: str,
        searcher_sex: str,
        safeguarding_team_member: str,
        outcome: str,
        emergency: bool,
        emergency_justification: str,
        conditions_not_met: list[str],
        recorded_by: str,
        recorded_by_role: str,
        occurred_at: datetime,
        recorded_at: datetime,
        idempotency_key: str,
    ) -> None:
        self.searches.append(
            Search(
                pseudonym,
                device,
                searcher,
                searcher_sex,
                safeguarding_team_member,
                outcome,
                emergency,
                emergency_justification,
                conditions_not_met,
                recorded_by,
                recorded_by_role,
                occurred_at,
                recorded_at,
            )
        )
        if emergency:
            self.flagged_for_review.append(
                f"device search under the emergency exception: {'; '.join(conditions_not_met)}"
            )
        if idempotency_key:
            self.search_keys[idempotency_key] = len(self.searches)

    class SearchDeclined(Aggregate.Event):
        """Step 2: not searched, because searching would add to the young person's distress."""

        PERSONAL_FIELDS: ClassVar[tuple[str, ...]] = ("pseudonym", "reason")

        school: str
        reference: str
        pseudonym: str
        reason: str
        recorded_by: str
        recorded_by_role: str
        occurred_at: datetime
        recorded_at: datetime

    def decline_search(
        self,
        pseudonym: str,
        reason: str,
        recorded_by: str,
        recorded_by_role: str,
        occurred_at: datetime,
        recorded_at: datetime,
    ) -> None:
        """Record a decision not to search, with its reason."""
        check_occurred_before_recorded(occurred_at, recorded_at)
        self._young_person(pseudonym)
        if not reason.strip():
            msg = "a decision not to search needs its reason"
            raise NeedsReasonError(msg)
        self._search_declined(
            school=self.school,
            reference=self.reference,
            pseudonym=pseudonym,
            reason=reason,
            recorded_by=recorded_by,
            recorded_by_role=recorded_by_role,
            occurred_at=occurred_at,
            recorded_at=recorded_at,
        )

    @event(SearchDeclined)
    def _search_declined(
        self,
        school: str,
        reference: str,
        pseudonym: str,
        reason: str,
        recorded_by: str,
        recorded_by_role: str,
        occurred_at: datetime,
        recorded_at: datetime,
    ) -> None:
        self.searches_declined.append(
            DeclinedSearch(
                pseudonym, reason, recorded_by, recorded_by_role, occurred_at, recorded_at
            )
        )

    def _young_person(self, pseudonym: str) -> YoungPerson:
        try:
            return self.young_people[pseudonym]
        except KeyError:
            msg = f"no young person {pseudonym} on this case: record them first"
            raise IntakeError(msg) from None

    class LeadershipInformed(Aggregate.Event):
        """Step 4: the DSL or senior management told, how, and how long after the disclosure."""

        school: str
        reference: str
        audience: str
        person: str
        how: str
        minutes_after_disclosure: int
        reason: str
        recorded_by: str
        recorded_by_role: str
        occurred_at: datetime
        recorded_at: datetime
        idempotency_key: str

    def record_informed(
        self,
        audience: str,
        person: str,
        how: str,
        reason: str,
        recorded_by: str,
        recorded_by_role: str,
        occurred_at: datetime,
        recorded_at: datetime,
        idempotency_key: str = "",
    ) -> None:
        """Record that the DSL, or senior management, was told of the incident."""
        check_occurred_before_recorded(occurred_at, recorded_at)
        latest = self.triage[-1].answers if self.triage else None
        check_informed(audience, how, person, occurred_at, self.occurred_at, latest)
        minutes = int((occurred_at - self.occurred_at).total_seconds() // 60)
        self._informed(
            school=self.school,
            reference=self.reference,
            audience=audience,
            person=person,
            how=how,
            minutes_after_disclosure=minutes,
            reason=reason,
            recorded_by=recorded_by,
            recorded_by_role=recorded_by_role,
            occurred_at=occurred_at,
            recorded_at=recorded_at,
            idempotency_key=idempotency_key,
        )

    @event(LeadershipInformed)
    def _informed(
        self,
        school: str,
        reference: str,
        audience: str,
        person: str,
        how: str,
        minutes_after_disclosure: int,
        reason: str,
        recorded_by: str,
        recorded_by_role: str,
        occurred_at: datetime,
        recorded_at: datetime,
        idempotency_key: str,
    ) -> None:
        self.informed.append(
            Informed(
                audience,
                person,
                how,
                minutes_after_disclosure,
                reason,
                recorded_by,
                recorded_by_role,
                occurred_at,
                recorded_at,
            )
        )
        if idempotency_key:
            self.informed_keys[idempotency_key] = len(self.informed)

    class DslAssigned(Aggregate.Event):
        """Step 4: the DSL who takes the case (a later assignment hands it over)."""

        school: str
        reference: str
        dsl: str
        reason: str
        recorded_by: str
        recorded_by_role: str
        occurred_at: datetime
        recorded_at: datetime

    def assign_dsl(
        self,
        dsl: str,
        reason: str,
        recorded_by: str,
        recorded_by_role: str,
        occurred_at: datetime,
        recorded_at: datetime,
    ) -> None:
        """The DSL who takes the case; handing it to another DSL needs a reason."""
        check_occurred_before_recorded(occurred_at, recorded_at)
        if not dsl.strip():
            msg = "dsl: the user who takes the case"
            raise IntakeError(msg)
        if self.dsl == dsl:
            return
        if self.dsl is not None and not reason.strip():
            msg = f"{self.dsl} has the case: handing it over needs a reason"
            raise NeedsReasonError(msg)
        self._dsl_assigned(
            school=self.school,
            reference=self.reference,
            dsl=dsl,
            reason=reason,
            recorded_by=recorded_by,
            recorded_by_role=recorded_by_role,
            occurred_at=occurred_at,
            recorded_at=recorded_at,
        )

    @event(DslAssigned)
    def _dsl_assigned(
        self,
        school: str,
        reference: str,
        dsl: str,
        reason: str,
        recorded_by: str,
        recorded_by_role: str,
        occurred_at: datetime,
        recorded_at: datetime,
    ) -> None:
        self.dsl = dsl

    class YoungPersonRecorded(Aggregate.Event):
        """A young person involved, by pseudonym; a later record of the same one corrects it."""

        PERSONAL_FIELDS: ClassVar[tuple[str, ...]] = ("pseudonym", "reason")

        school: str
        reference: str
        pseudonym: str
        year_group: int | None
        age: int | None
        sex: str
        vulnerabilities: list[str]
        roles: list[str]
        reason: str
        recorded_by: str
        recorded_by_role: str
        occurred_at: datetime
        recorded_at: datetime
        idempotency_key: str

    def record_young_person(
        self,
        details: dict[str, Any],
        reason: str,
        recorded_by: str,
        recorded_by_role: str,
        occurred_at: datetime,
        recorded_at: datetime,
        idempotency_key: str = "",
    ) -> None:
        """Add a young person, or correct one already recorded (with the reason)."""
        checked = checked_young_person(details)
        check_occurred_before_recorded(occurred_at, recorded_at)
        if checked["pseudonym"] in self.young_people and not reason.strip():
            msg = f"{checked['pseudonym']} is recorded already: a correction needs its reason"
            raise NeedsReasonError(msg)
        self._young_person_recorded(
            school=self.school,
            reference=self.reference,
            **checked,
            reason=reason,
            recorded_by=recorded_by,
            recorded_by_role=recorded_by_role,
            occurred_at=occurred_at,
            recorded_at=recorded_at,
            idempotency_key=idempotency_key,
        )

    @event(YoungPersonRecorded)
    def _young_person_recorded(
        self,
        school: str,
        reference: str,
        pseudonym: str,
        year_group: int | None,
        age: int | None,
        sex: str,
        vulnerabilities: list[str],
        roles: list[str],
        reason: str,
        recorded_by: str,
        recorded_by_role: str,
        occurred_at: datetime,
        recorded_at: datetime,
        idempotency_key: str,
    ) -> None:
        person = YoungPerson(
            pseudonym,
            year_group,
            age,
            sex,
            vulnerabilities,
            roles,
            reason,
            recorded_by,
            recorded_by_role,
            occurred_at,
            recorded_at,
        )
        self.young_people[pseudonym] = person
        self.young_people_history.append(person)
        if idempotency_key:
            self.young_person_keys[idempotency_key] = len(self.young_people_history)

    class TriageRecorded(Aggregate.Event):
        """Step 1 answered (again: a correction keeps every earlier entry).

        ``answers`` holds the questions as they were asked when it was recorded, each answer
        as given. An entry recorded before the acts in the imagery were asked apart holds
        ``acts_unusual_or_violent`` in place of ``violent_or_abusive_acts`` and
        ``acts_unusual_for_development``: it stays so (no upcaster translates it, since an
        answer to one question is not an answer to two), is shown so, and is published as the
        contract it was published as then (:mod:`services.intake.adapters.contracts`). The
        event's own fields did not change, so it keeps class version 1."""

        PERSONAL_FIELDS: ClassVar[tuple[str, ...]] = ("image_locations", "reason")

        school: str
        reference: str
        number: int
        answers: dict[str, Any]
        image_locations: list[dict[str, str]]
        reason: str
        recorded_by: str
        recorded_by_role: str
        occurred_at: datetime
        recorded_at: datetime
        idempotency_key: str

    def record_triage(
        self,
        answers: dict[str, Any],
        image_locations: list[dict[str, str]],
        reason: str,
        recorded_by: str,
        recorded_by_role: str,
        occurred_at: datetime,
        recorded_at: datetime,
        idempotency_key: str = "",
    ) -> None:
        """Record the step 1 answers; every question not answered is recorded as unknown."""
        complete = complete_answers(answers)
        check_image_locations(image_locations)
        check_occurred_before_recorded(occurred_at, recorded_at)
        if self.triage and not reason.strip():
            msg = f"triage {len(self.triage)} exists: a correction needs its reason"
            raise NeedsReasonError(msg)
        self._triage_recorded(
            school=self.school,
            reference=self.reference,
            number=len(self.triage) + 1,
            answers=complete,
            image_locations=image_locations,
            reason=reason,
            recorded_by=recorded_by,
            recorded_by_role=recorded_by_role,
            occurred_at=occurred_at,
            recorded_at=recorded_at,
            idempotency_key=idempotency_key,
        )

    @event(TriageRecorded)
    def _triage_recorded(
        self,
        school: str,
        reference: str,
        number: int,
        answers: dict[str, Any],
        image_locations: list[dict[str, str]],
        reason: str,
        recorded_by: str,
        recorded_by_role: str,
        occurred_at: datetime,
        recorded_at: datetime,
        idempotency_key: str,
    ) -> None:
        self.triage.append(
            Triage(
                number,
                answers,
                image_locations,
                reason,
                recorded_by,
                recorded_by_role,
                occurred_at,
                recorded_at,
            )
        )
        if idempotency_key:
            self.triage_keys[idempotency_key] = number


class ReferenceSequence(Aggregate):
    """Hands out each school's human references, one year at a time: ``OAK-2026-0007``."""

    @event("Started")
    def __init__(self, school: str, year: int) -> None:
        self.school = school
        self.year = year
        self.last = 0

    @staticmethod
    def create_id(school: str, year: int, *args: Any, **kwargs: Any) -> UUID:
        return uuid5(NAMESPACE, f"reference-sequence:{school}:{year}")

    @event("Allocated")
    def allocate(self) -> None:
        self.last += 1

    @property
    def reference(self) -> str:
        return f"{self.school}-{self.year}-{self.last:04d}"


def check_disclosure_route(route: str) -> None:
    if route not in DISCLOSURE_ROUTES:
        msg = f"unknown disclosure route {route!r}; one of {', '.join(DISCLOSURE_ROUTES)}"
        raise IntakeError(msg)
