"""Step 4: who should deal with the incident. The DSL, and senior management, told of it (in
person where the triage says immediate action is needed), and the DSL who takes the case."""

from __future__ import annotations

from typing import Annotated, Any

from services.intake.domain.errors import IntakeError, NeedsReasonError
from shared.entries import AlreadyRecordedError, CaseEntry, KeyedSinceV2, Recording
from shared.vocabulary import Audience, Doc, HowTold, Name, Note

# Triage answers that mean immediate action is needed: the DSL is then told in person.
IMMEDIATE_ACTION = ("immediate_support_needed", "immediate_risk_of_harm")


class ImmediateActionError(IntakeError):
    """Where immediate action is needed, the DSL is told in person (policy step 4)."""


class LeadershipInformed(CaseEntry):
    """Step 4: the DSL (in person where the triage says immediate action is needed) or senior
    management told of the incident: who, how, and when (default: now); the minutes since the
    disclosure are recorded."""

    KEPT_IN = "informed"
    STEP = 4
    ROUTE = "informed"
    RECORDED_BY = ("staff", "dsl", "head")
    WORKED_OUT = ("minutes_after_disclosure",)

    audience: Audience
    person: Annotated[Name, Doc("Who was told, e.g. dsl.oak.")]
    how: HowTold
    minutes_after_disclosure: int
    reason: Note = ""

    @classmethod
    def check(cls, case: Any, by: Recording, facts: dict[str, Any]) -> dict[str, Any]:
        """Refused before the disclosure, and by any means but in person to the DSL where
        the latest triage says immediate action is needed."""
        if not facts["person"].strip():
            msg = "person: who was told"
            raise IntakeError(msg)
        if by.occurred_at < case.occurred_at:
            msg = "they cannot have been told before the disclosure was made"
            raise IntakeError(msg)
        latest = case.triage[-1].answers if case.triage else {}
        urgent = [q for q in IMMEDIATE_ACTION if latest.get(q) == "yes"]
        if facts["audience"] == "dsl" and facts["how"] != "in_person" and urgent:
            msg = (
                f"immediate action is needed (triage: {', '.join(urgent)} is yes): "
                "the DSL must be told in person"
            )
            raise ImmediateActionError(msg)
        minutes = int((by.occurred_at - case.occurred_at).total_seconds() // 60)
        return {**facts, "minutes_after_disclosure": minutes}


class DslAssigned(KeyedSinceV2, CaseEntry):
    """Step 4: the DSL who takes the case. The same DSL again changes nothing (a retry is
    safe); another DSL takes it over, with the reason."""

    KEPT_IN = "dsl_assignments"
    STEP = 4
    ROUTE = "dsl"
    RECORDED_BY = ("dsl", "head")

    dsl: Annotated[Name, Doc("The user who takes the case, e.g. dsl.oak.")]
    reason: Annotated[Note, Doc("Required to hand over.")] = ""

    @classmethod
    def check(cls, case: Any, by: Recording, facts: dict[str, Any]) -> dict[str, Any]:
        """Handing the case to another DSL needs the reason."""
        dsl = facts["dsl"]
        if not dsl.strip():
            msg = "dsl: the user who takes the case"
            raise IntakeError(msg)
        if case.dsl == dsl:
            raise AlreadyRecordedError(case.dsl_assignments[-1])
        if case.dsl is not None and not facts.get("reason", "").strip():
            msg = f"{case.dsl} has the case: handing it over needs a reason"
            raise NeedsReasonError(msg)
        return facts

    def apply(self, aggregate: Any) -> None:
        super().apply(aggregate)
        aggregate.dsl = self.dsl


STEP_4 = (LeadershipInformed, DslAssigned)
