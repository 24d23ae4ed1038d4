"""Step 6: contacting other agencies (making a referral). Each action the policy asks of the
DSL (the police, CEOP, children's social care, the parents, the hosting site…) is done, with the
other side's reference, or declined with the written reason; and the police's outcome is kept
when they give it."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, ClassVar, Literal

from annotated_types import MaxLen, MinLen
from pydantic import PlainSerializer

from services.referral.domain.actions import check_decision
from services.referral.domain.response import DECIDERS, Reason
from shared.actions import DECLINED, DONE
from shared.entries import CaseEntry, EntryError, Recording
from shared.imagery import FreeText
from shared.vocabulary import Action, Doc, Name, Note


class ActionCompleted(CaseEntry):
    """Step 6: an action done: how, with whom, and the other side's reference (police incident
    number, CEOP report id, MASH reference)."""

    KEPT_IN = "decisions"
    STEP = 6
    ROUTE = "actions/completed"
    RECORDED_BY = DECIDERS
    PERSONAL_FIELDS = ("whom",)

    action: Action
    how: Literal["in_person", "phone", "email", "online_form", "letter", "secure_system"]
    whom: Annotated[Name, Doc("Whom the DSL dealt with (name and role).")]
    their_reference: Annotated[
        FreeText,
        MaxLen(200),
        Doc(
            "The other side's reference: police incident number, CEOP report id, MASH "
            "reference, the hosting site's report number."
        ),
    ] = ""

    @classmethod
    def check(cls, case: Any, by: Recording, facts: dict[str, Any]) -> dict[str, Any]:
        """Only an action the case has, and only while it is open."""
        check_decision(case.actions, facts["action"], declining=False, reason="")
        return facts

    def apply(self, aggregate: Any) -> None:
        super().apply(aggregate)
        done = aggregate.actions[self.action]
        done.status = DONE
        done.decision = {
            "how": self.how,
            "whom": self.whom,
            "their_reference": self.their_reference,
        }


class ActionDeclined(CaseEntry):
    """Step 6: an action not taken, with the written reason (for parents: that telling them
    would put the young person at risk)."""

    KEPT_IN = "decisions"
    STEP = 6
    ROUTE = "actions/declined"
    RECORDED_BY = DECIDERS
    PERSONAL_FIELDS = ("reason",)

    action: Action
    reason: Reason

    @classmethod
    def check(cls, case: Any, by: Recording, facts: dict[str, Any]) -> dict[str, Any]:
        """A required police referral cannot be declined, nor can senior management's being
        told or the DSL's record; declining needs the written reason."""
        check_decision(case.actions, facts["action"], declining=True, reason=facts["reason"])
        return facts

    def apply(self, aggregate: Any) -> None:
        super().apply(aggregate)
        declined = aggregate.actions[self.action]
        declined.status = DECLINED
        declined.decision = {"reason": self.reason}


class PoliceOutcomeRecorded(CaseEntry):
    """Step 6: the police's outcome, its code held as data, as they gave it (21, 22, charged,
    no further action…), with the date and their reference."""

    KEPT_IN = "police_outcomes"
    STEP = 6
    ROUTE = "police-outcomes"
    RECORDED_BY = DECIDERS
    SENT: ClassVar[dict[str, Any]] = {
        # Sent as a date, kept as its ISO text.
        "outcome_date": Annotated[date, PlainSerializer(date.isoformat, return_type=str)]
    }

    code: Annotated[
        str,
        MinLen(1),
        MaxLen(40),
        Doc("As the police gave it: 21, 22, charged, no_further_action, other…"),
    ]
    outcome_date: str
    police_reference: Name
    note: Note = ""

    @classmethod
    def check(cls, case: Any, by: Recording, facts: dict[str, Any]) -> dict[str, Any]:
        """The code must be given."""
        if not facts["code"].strip():
            msg = "code: the police's outcome code (21, 22, charged, no_further_action, other)"
            raise EntryError(msg)
        return facts


STEP_6 = (ActionCompleted, ActionDeclined, PoliceOutcomeRecorded)
