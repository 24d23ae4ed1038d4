"""Step 5: deciding on a response. The DSL's risk assessment of the young person (the case is
reassessed with it at once), the DSL's own classification where the computed one does not fit,
and the safeguards put in place for a young person (counselling, a protection plan, support)."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, NotRequired, get_args

from annotated_types import Ge, Le, MaxLen, MinLen
from pydantic import ConfigDict, Field, with_config
from typing_extensions import TypedDict

from shared.entries import CaseEntry, EntryError, NeedsReasonError, Recording
from shared.imagery import FreeText
from shared.vocabulary import Doc, Name, Note, Pseudonym, Words

DECIDERS = ("dsl", "head")
"""Who records the DSL's decisions of steps 5 and 6."""

Reason = Annotated[FreeText, MinLen(1), MaxLen(5000)]
"""Why the DSL decided as they did: longer than a note, since it is what an inspector reads."""

# Wolak and Finkelhor's classification, and each one's subtypes.
Classification = Literal["aggravated", "experimental"]
AggravatedSubtype = Literal["adult_involved", "youth_intent_to_harm", "youth_reckless_misuse"]
ExperimentalSubtype = Literal["romantic", "sexual_attention_seeking", "other"]
Subtype = Literal[AggravatedSubtype, ExperimentalSubtype]
CLASSIFICATIONS = {
    "aggravated": get_args(AggravatedSubtype),
    "experimental": get_args(ExperimentalSubtype),
}

YesNo = Literal["yes", "no", "unknown"]


@with_config(ConfigDict(extra="forbid"))  # a factor the policy does not know is refused
class RiskFactors(TypedDict):
    """Step 5's structured factors."""

    willing_or_coerced: Literal["willing", "coerced", "unknown"]
    spread_beyond_intended_recipient: YesNo
    public_platform: YesNo
    several_recipients: YesNo
    age_gap_years: NotRequired[Annotated[int | None, Ge(0), Le(20)]]
    vulnerabilities: YesNo
    earlier_incidents: YesNo
    # Described with pydantic's Field, which is what reads a TypedDict's fields (the Doc of
    # an entry's own fields is read by shared.entry_routes).
    intent_to_harm: Annotated[
        YesNo, Field(description="Conflict, extortion, threats, malice, abuse.")
    ]
    without_consent: Annotated[
        YesNo,
        Field(
            description="Taken, sent or shown without the pictured young person's knowledge or "
            "against their will."
        ),
    ]
    experimental_context: Literal["romantic", "sexual_attention_seeking", "other", "unknown"]


class RiskAssessed(CaseEntry):
    """Step 5: the DSL's risk assessment: the structured factors, the conclusion and why. The
    case is reassessed with them at once: high risk requires children's social care."""

    KEPT_IN = "risk_assessments"
    STEP = 5
    ROUTE = "risk-assessments"
    RECORDED_BY = DECIDERS
    PERSONAL_FIELDS = ("reasons",)

    factors: RiskFactors
    conclusion: Literal["low", "medium", "high"]
    reasons: Reason

    @classmethod
    def check(cls, case: Any, by: Recording, facts: dict[str, Any]) -> dict[str, Any]:
        """A risk assessment gives the reasons for its conclusion."""
        if not facts["reasons"].strip():
            msg = "a risk assessment gives the reasons for its conclusion"
            raise NeedsReasonError(msg, field="reasons")
        return {**facts, "factors": kept_factors(facts["factors"])}

    def same_as(self, facts: dict[str, Any]) -> bool:
        sent = facts.get("factors")
        return super().same_as(facts if sent is None else {**facts, "factors": kept_factors(sent)})


def kept_factors(factors: RiskFactors) -> RiskFactors:
    """The factors as kept: an age gap left out is unknown, kept as such among the factors the
    policy reads."""
    return {**factors, "age_gap_years": factors.get("age_gap_years")}


class ClassificationOverridden(CaseEntry):
    """Step 5: the DSL's own classification, with the reason; the computed one stays beside
    it."""

    KEPT_IN = "overrides"
    STEP = 5
    ROUTE = "classification-overrides"
    RECORDED_BY = DECIDERS
    PERSONAL_FIELDS = ("reason",)

    classification: Classification
    subtype: Subtype
    reason: Reason

    @classmethod
    def check(cls, case: Any, by: Recording, facts: dict[str, Any]) -> dict[str, Any]:
        """The subtype must be one of its classification's, and overriding needs the reason."""
        if facts["subtype"] not in CLASSIFICATIONS[facts["classification"]]:
            choices = "; ".join(f"{c}: {', '.join(s)}" for c, s in CLASSIFICATIONS.items())
            msg = f"classification and subtype must be one of {choices}"
            raise EntryError(msg)
        if not facts["reason"].strip():
            msg = "overriding the computed classification needs the reason"
            raise NeedsReasonError(msg)
        return facts


def young_person_known(case: Any, facts: dict[str, Any]) -> dict[str, Any]:
    """The facts, if their young person is one intake recorded on the case."""
    known = [p["pseudonym"] for p in case.facts.young_people()]
    if facts["pseudonym"] not in known:
        msg = (
            f"no young person {facts['pseudonym']} on this case "
            f"(recorded: {', '.join(known) or 'none'})"
        )
        raise EntryError(msg)
    return facts


class SafeguardRecorded(CaseEntry):
    """Step 5: a safeguard for a young person: counselling, a protection plan, support."""

    KEPT_IN = "safeguards"
    STEP = 5
    ROUTE = "safeguards"
    RECORDED_BY = DECIDERS
    PERSONAL_FIELDS = ("pseudonym", "detail")

    pseudonym: Pseudonym
    kind: Literal["counselling", "protection_plan", "support", "other"]
    detail: Annotated[FreeText, MinLen(1), MaxLen(2000)]

    @classmethod
    def check(cls, case: Any, by: Recording, facts: dict[str, Any]) -> dict[str, Any]:
        """Only for a young person intake recorded on the case."""
        return young_person_known(case, facts)


class YoungPersonHeard(CaseEntry):
    """Step 5: the young person heard before the response is decided: why it happened in
    their words (romantic, exploring, pressured, coerced…), and what they want to happen."""

    KEPT_IN = "young_people_heard"
    STEP = 5
    ROUTE = "young-people-heard"
    RECORDED_BY = DECIDERS
    PERSONAL_FIELDS = ("pseudonym", "account", "wishes")
    EXAMPLE: ClassVar[dict[str, Any]] = {
        "pseudonym": "YP-1",
        "heard_by": "dsl.oak",
        "account": "Invented: sent it to one friend, who was not meant to show anyone",
        "wishes": "Invented: wants the DSL to tell their mother",
    }

    pseudonym: Pseudonym
    heard_by: Annotated[Name, Doc("Who spoke with them, e.g. dsl.oak.")]
    account: Annotated[Words, Doc("What happened and why, as they told it.")]
    wishes: Annotated[Note, Doc("What they want to happen next, and who they want told.")] = ""

    @classmethod
    def check(cls, case: Any, by: Recording, facts: dict[str, Any]) -> dict[str, Any]:
        """Only a young person intake recorded on the case."""
        return young_person_known(case, facts)

    def words(self) -> str:
        return f"{self.pseudonym} heard by {self.heard_by}: {self.account}"


STEP_5 = (ClassificationOverridden, RiskAssessed, SafeguardRecorded, YoungPersonHeard)
