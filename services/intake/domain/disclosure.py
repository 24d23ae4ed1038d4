"""Step 1: the disclosure by a student. Who is involved, each young person by a pseudonymous
reference, never a name; and the triage: the policy's questions, and the facts that decide a
referral, answered as far as they are known (a later entry corrects, with its reason).

Each kind of entry is declared here whole (see :class:`shared.entries.CaseEntry`): its fields
and their vocabulary, its rules, and what it is answered as.
"""

from __future__ import annotations

from dataclasses import field
from typing import Annotated, Any, ClassVar, Literal, NotRequired

from annotated_types import Ge, Le, MaxLen, MinLen
from typing_extensions import TypedDict

from services.intake.domain.errors import IntakeError, NeedsReasonError
from services.intake.domain.triage import (
    IMAGE_LOCATION_KINDS,
    MULTI_ANSWER,
    TRIAGE_ANSWERS,
    UNKNOWN,
    complete_answers,
)
from shared.entries import CaseEntry, Default, Recording
from shared.imagery import FreeText
from shared.vocabulary import (
    Doc,
    Note,
    Pseudonym,
    Sex,
    Vulnerability,
    YoungPersonRole,
    is_pseudonym,
)

DisclosureRoute = Literal[
    "young_person",
    "peer",
    "staff_discovery",
    "parent_or_carer",
    "other_agency",
    "anonymous",
]
DISCLOSURE_ROUTES: tuple[str, ...] = DisclosureRoute.__args__  # type: ignore[attr-defined]
"""How the school came to know: the route of the disclosure."""

RECORDERS = ("staff", "dsl", "head")


def check_disclosure_route(route: str) -> None:
    if route not in DISCLOSURE_ROUTES:
        msg = f"unknown disclosure route {route!r}; one of {', '.join(DISCLOSURE_ROUTES)}"
        raise IntakeError(msg)


class YoungPersonRecorded(CaseEntry):
    """A young person the incident involves, by a pseudonymous reference, never a name; a later
    record of the same one corrects it, with the reason, and the earlier stays in the history."""

    KEPT_IN = "young_people_history"
    STEP = 1
    RECORDED_BY = RECORDERS
    PERSONAL_FIELDS = ("pseudonym", "reason")

    pseudonym: Pseudonym
    roles: Annotated[list[YoungPersonRole], MinLen(1)]
    year_group: Annotated[int | None, Ge(0), Le(14)] = None
    age: Annotated[int | None, Ge(3), Le(25)] = None
    sex: Sex = "not_recorded"
    vulnerabilities: list[Vulnerability] = field(default_factory=list)
    reason: Annotated[Note, Doc("Required to correct.")] = ""

    @classmethod
    def checked(cls, details: dict[str, Any]) -> dict[str, Any]:
        """The details in their recorded form (each list sorted, once), or an
        :class:`IntakeError` naming what is wrong."""
        pseudonym = str(details.get("pseudonym", ""))
        if not is_pseudonym(pseudonym):
            msg = "pseudonym: 2 to 40 letters, digits or hyphens (a reference, never a name)"
            raise IntakeError(msg)
        year_group, age = details.get("year_group"), details.get("age")
        if year_group is None and age is None:
            msg = f"{pseudonym}: a year group or an age is needed"
            raise IntakeError(msg)
        if year_group is not None and not 0 <= year_group <= 14:
            msg = f"{pseudonym}: year group {year_group} is not a school year (0 to 14)"
            raise IntakeError(msg)
        if age is not None and not 3 <= age <= 25:
            msg = f"{pseudonym}: age {age} is outside 3 to 25"
            raise IntakeError(msg)
        if not details.get("roles"):
            msg = f"{pseudonym}: one or more roles"
            raise IntakeError(msg)
        return {
            "pseudonym": pseudonym,
            "year_group": year_group,
            "age": age,
            "sex": details.get("sex", "not_recorded"),
            "vulnerabilities": sorted(set(details.get("vulnerabilities", []))),
            "roles": sorted(set(details["roles"])),
        }

    @classmethod
    def check(cls, case: Any, by: Recording, facts: dict[str, Any]) -> dict[str, Any]:
        """Refused without a year group or an age, and a correction without its reason."""
        reason = facts.get("reason", "")
        checked = cls.checked(facts)
        if checked["pseudonym"] in case.young_people and not reason.strip():
            msg = f"{checked['pseudonym']} is recorded already: a correction needs its reason"
            raise NeedsReasonError(msg)
        return {**checked, "reason": reason}

    def same_as(self, facts: dict[str, Any]) -> bool:
        return super().same_as({**self.checked(facts), "reason": facts.get("reason", "")})

    def apply(self, aggregate: Any) -> None:
        super().apply(aggregate)
        aggregate.young_people[self.pseudonym] = self


class ImageLocation(TypedDict):
    """Where the image is: a named device, the school network, a site or app. Never a link."""

    kind: Literal["device", "school_network", "site_or_app", "unknown"]
    name: NotRequired[Annotated[FreeText, MaxLen(200)]]


def _answer(question: str) -> Any:
    allowed = Literal[TRIAGE_ANSWERS[question]]  # type: ignore[valid-type]
    if question in MULTI_ANSWER:
        return Annotated[list[allowed], Default([UNKNOWN])]
    return Annotated[allowed, Default(UNKNOWN)]


class TriageRecorded(CaseEntry):
    """Step 1 triage: each question answered, or left out to record it as unknown. A second
    entry corrects the first, with its reason; both stay in the record.

    ``answers`` holds the questions as they were asked when it was recorded, each answer as
    given. An entry recorded before the acts in the imagery were asked apart holds
    ``acts_unusual_or_violent`` in place of ``violent_or_abusive_acts`` and
    ``acts_unusual_for_development``: it stays so (no upcaster translates it, since an answer
    to one question is not an answer to two), is shown so, and is published as the contract it
    was published as then (:mod:`services.intake.adapters.contracts`)."""

    KEPT_IN = "triage"
    STEP = 1
    RECORDED_BY = RECORDERS
    WORKED_OUT = ("number", "answers")
    SENT: ClassVar[dict[str, Any]] = {question: _answer(question) for question in TRIAGE_ANSWERS}
    PERSONAL_FIELDS = ("image_locations", "reason")

    number: int
    answers: dict[str, Any]
    image_locations: Annotated[list[ImageLocation], MaxLen(50)] = field(default_factory=list)
    reason: Annotated[Note, Doc("Required when correcting an entry.")] = ""

    @classmethod
    def check(cls, case: Any, by: Recording, facts: dict[str, Any]) -> dict[str, Any]:
        """Every question not answered is recorded as unknown; a correction needs its reason."""
        answers = complete_answers({q: facts[q] for q in TRIAGE_ANSWERS if q in facts})
        locations = [
            {"kind": location.get("kind", ""), "name": location.get("name", "")}
            for location in facts.get("image_locations", [])
        ]
        if any(location["kind"] not in IMAGE_LOCATION_KINDS for location in locations):
            msg = f"image location kind must be one of {', '.join(IMAGE_LOCATION_KINDS)}"
            raise IntakeError(msg)
        reason = facts.get("reason", "")
        if case.triage and not reason.strip():
            msg = f"triage {len(case.triage)} exists: a correction needs its reason"
            raise NeedsReasonError(msg)
        return {
            "number": len(case.triage) + 1,
            "answers": answers,
            "image_locations": locations,
            "reason": reason,
        }

    def same_as(self, facts: dict[str, Any]) -> bool:
        given = {q: facts[q] for q in TRIAGE_ANSWERS if q in facts}
        return complete_answers(given) == self.answers and facts.get("reason", "") == self.reason

    def words(self) -> str:
        return f"Triage {self.number}"


STEP_1 = (YoungPersonRecorded, TriageRecorded)
