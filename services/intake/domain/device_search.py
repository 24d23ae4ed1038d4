"""Step 2: searching a device, only under the policy's four conditions; or deciding not to.

The conditions (school policy, appendix 8, step 2): the search follows the school's policies;
it is conducted by the head or a person the head authorised; a member of the safeguarding team
is present; the searcher is of the same sex as the young person. A search that breaks one is
refused, naming it, unless the emergency exception applies (a risk of serious harm and no other
member of staff practicable), with a written justification; such a case is flagged for review.
A decision not to search, because it would add to the young person's distress, is recorded with
its reason.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from annotated_types import MaxLen

from services.intake.domain.errors import IntakeError, NeedsReasonError
from shared.entries import AlreadyRecordedError, CaseEntry, KeyedSinceV2, Recording
from shared.imagery import FreeText
from shared.vocabulary import Doc, Name, Note, Pseudonym, SearchOutcome, ViewerSex, Words

SEXES_THAT_MATCH = ("female", "male")


class SearchConditionError(IntakeError):
    """A search that breaks one of step 2's conditions; the message names which."""


class SearchAuthorised(CaseEntry):
    """Step 2: the head authorises a named member of staff to search a young person's device.
    The same authorisation again changes nothing."""

    KEPT_IN = "search_authorisations"
    STEP = 2
    ROUTE = "search-authorisations"
    RECORDED_BY = ("head",)
    WORKED_OUT = ("authorised_by",)

    searcher: Annotated[Name, Doc("Who may search, e.g. staff.b.")]
    pseudonym: Pseudonym
    authorised_by: str

    # Version 1 was stored before every entry carried who recorded it and a key: the head who
    # authorised it recorded it.
    class_version = 2

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["recorded_by"] = state["authorised_by"]
        state["recorded_by_role"] = "head"
        state["idempotency_key"] = ""

    @classmethod
    def check(cls, case: Any, by: Recording, facts: dict[str, Any]) -> dict[str, Any]:
        """Only the head authorises, a search of a young person on the case."""
        if by.recorded_by_role != "head":
            msg = "only the head authorises a device search"
            raise SearchConditionError(msg)
        case.young_person(facts["pseudonym"])
        for given in case.search_authorisations:
            if (given.searcher, given.pseudonym) == (facts["searcher"], facts["pseudonym"]):
                raise AlreadyRecordedError(given)
        return {**facts, "authorised_by": by.recorded_by}


class DeviceSearched(CaseEntry):
    """Step 2: a device search as it happened. What was found is described in words, never the
    image."""

    KEPT_IN = "searches"
    STEP = 2
    ROUTE = "searches"
    RECORDED_BY = ("staff", "dsl", "head")
    WORKED_OUT = ("conditions_not_met",)
    SENT: ClassVar[dict[str, Any]] = {
        "policy_followed": Annotated[bool, Doc("In accordance with the school's policies.")]
    }
    PERSONAL_FIELDS = ("pseudonym", "device")

    pseudonym: Pseudonym
    device: Annotated[Name, Doc("e.g. personal phone")]
    searcher: Name
    searcher_sex: ViewerSex
    outcome: SearchOutcome
    conditions_not_met: list[str]
    safeguarding_team_member: Annotated[
        FreeText, MaxLen(200), Doc("Who from the safeguarding team was present.")
    ] = ""
    emergency: Annotated[
        bool, Doc("Risk of serious harm and no other member of staff practicable.")
    ] = False
    emergency_justification: Note = ""

    @classmethod
    def check(cls, case: Any, by: Recording, facts: dict[str, Any]) -> dict[str, Any]:
        """Refused (naming each condition not met) unless the policy's four conditions hold,
        or the emergency exception is claimed with its justification, which flags the case
        for review."""
        young_person = case.young_person(facts["pseudonym"])
        searcher = facts["searcher"]
        authorised = {
            a.searcher for a in case.search_authorisations if a.pseudonym == facts["pseudonym"]
        }
        unmet = []
        if not facts.pop("policy_followed"):
            unmet.append("the search is not in accordance with the school's safeguarding policies")
        is_head = by.recorded_by_role == "head" and searcher == by.recorded_by
        if not (is_head or searcher in authorised):
            unmet.append(f"{searcher} is neither the head nor a person the head authorised")
        if not facts.get("safeguarding_team_member", "").strip():
            unmet.append("no member of the safeguarding team is named as present")
        if young_person.sex not in SEXES_THAT_MATCH:
            unmet.append(
                "the young person's sex is not recorded, so the same-sex rule cannot be met"
            )
        elif facts["searcher_sex"] != young_person.sex:
            unmet.append("the searcher is not of the same sex as the young person")
        emergency = facts.get("emergency", False)
        if emergency and not facts.get("emergency_justification", "").strip():
            msg = "the emergency exception needs its written justification"
            raise SearchConditionError(msg)
        if unmet and not emergency:
            msg = "search refused: " + "; ".join(unmet)
            raise SearchConditionError(msg)
        return {**facts, "conditions_not_met": unmet}

    def apply(self, aggregate: Any) -> None:
        super().apply(aggregate)
        if self.emergency:
            aggregate.flagged_for_review.append(
                "device search under the emergency exception: " + "; ".join(self.conditions_not_met)
            )


class SearchDeclined(KeyedSinceV2, CaseEntry):
    """Step 2: not searching, because it would add to the young person's distress, with the
    reason."""

    KEPT_IN = "searches_declined"
    STEP = 2
    ROUTE = "searches/declined"
    RECORDED_BY = ("dsl", "head")
    PERSONAL_FIELDS = ("pseudonym", "reason")

    pseudonym: Pseudonym
    reason: Words

    @classmethod
    def check(cls, case: Any, by: Recording, facts: dict[str, Any]) -> dict[str, Any]:
        """A young person on the case, and the reason."""
        case.young_person(facts["pseudonym"])
        if not facts["reason"].strip():
            msg = "a decision not to search needs its reason"
            raise NeedsReasonError(msg)
        return facts


STEP_2 = (SearchAuthorised, DeviceSearched, SearchDeclined)
