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
    IMAGE_LOCATION_KINDS,
    MULTI_ANSWER,
    REFERRAL_FACTS,
    STEP_1_QUESTIONS,
    TRIAGE_ANSWERS,
    UNKNOWN,
    Triage,
    check_image_locations,
    complete_answers,
)
from services.intake.domain.young_people import YoungPerson, checked_young_person
from shared.application import NAMESPACE

__all__ = [
    "CLOCK_SKEW",
    "DISCLOSURE_ROUTES",
    "IMAGE_LOCATION_KINDS",
    "MULTI_ANSWER",
    "REFERRAL_FACTS",
    "STEP_1_QUESTIONS",
    "TRIAGE_ANSWERS",
    "UNKNOWN",
    "DeclinedSearch",
    "Incident",
    "Informed",
    "IntakeError",
    "NeedsReasonError",
    "ReferenceSequence",
    "Search",
    "SearchAuthorisation",
    "SearchConditionError",
    "Triage",
    "YoungPerson",
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
        """Step 1 answered (again: a correction keeps every earlier entry)."""

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
