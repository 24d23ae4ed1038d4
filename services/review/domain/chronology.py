"""What each upstream contract says in a case's chronology, in words.

:func:`describe` is pure: it reads only the contract it is given, never a store, so that a
replay of the same streams gives the same chronology, and each contract's wording can be tested
on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from functools import singledispatch

from shared.contracts import EntryRecordedContract
from shared.contracts.intake import (
    DeletionConfirmedV1,
    DeletionRequestedV1,
    DeviceCustodyRecordedV1,
    DeviceSearchAuthorisedV1,
    DeviceSearchDeclinedV1,
    DeviceSearchedV1,
    DslAssignedV1,
    ImageContainedV1,
    ImageNotViewedAttestedV1,
    ImageReportedToSiteV1,
    ImageViewedV1,
    ImageViewingAgreedV1,
    IncidentReportedV1,
    LeadershipInformedV1,
    TriageRecordedV1,
    TriageRecordedV2,
    YoungPersonRecordedV1,
)
from shared.contracts.referral import (
    ActionCompletedV1,
    ActionDeclinedV1,
    ActionEscalatedV1,
    AssessmentRecordedV1,
    ClassificationOverriddenV1,
    CriterionV1,
    PoliceOutcomeRecordedV1,
    RequiredActionV1,
    RiskAssessedV1,
    SafeguardRecordedV1,
)


@dataclass(frozen=True)
class Described:
    """A chronology entry's kind and summary; ``actor`` and ``actor_role`` replace the
    contract's recorder when someone else did it (the head who authorised a search)."""

    kind: str
    summary: str
    actor: str | None = None
    actor_role: str | None = None


@singledispatch
def describe(contract: object) -> Described | None:
    """The chronology entry ``contract`` makes, or None for a contract review does not show."""
    del contract
    return None


# Any producer's entry of a kind with no contract of its own: its producer's words.


@describe.register
def _(contract: EntryRecordedContract) -> Described:
    return Described(contract.kind, contract.summary)


# Intake: steps 1-4.


@describe.register
def _(contract: IncidentReportedV1) -> Described:
    return Described(
        "disclosure_recorded", f"Disclosure ({contract.disclosure_route}): {contract.summary}"
    )


@describe.register(TriageRecordedV1)
@describe.register(TriageRecordedV2)
def _(contract: TriageRecordedV1 | TriageRecordedV2) -> Described:
    # Counted over the questions of the entry's own version (V2 asks one more).
    questions = contract.question_fields()
    answered = sum(1 for q in questions if getattr(contract, q) not in ("unknown", ("unknown",)))
    corrected = contract.entry_number > 1
    summary = (
        f"Triage {contract.entry_number}: {answered} of {len(questions)} "
        f"answered; adult involvement {contract.adult_involvement}"
    )
    if corrected:
        summary += f"; corrects triage {contract.entry_number - 1}: {contract.correction_reason}"
    return Described("triage_corrected" if corrected else "triage_recorded", summary)


@describe.register
def _(contract: YoungPersonRecordedV1) -> Described:
    school_year = f"Year {contract.year_group}" if contract.year_group is not None else ""
    age = f"age {contract.age}" if contract.age is not None else ""
    summary = (
        f"{contract.pseudonym} ({', '.join(filter(None, (school_year, age, contract.sex)))}):"
        f" {', '.join(contract.roles)}"
    )
    if contract.vulnerabilities:
        summary += f"; vulnerabilities: {', '.join(contract.vulnerabilities)}"
    if contract.correction_reason:
        summary += f"; corrected: {contract.correction_reason}"
    corrected = bool(contract.correction_reason)
    return Described("young_person_corrected" if corrected else "young_person_recorded", summary)


@describe.register
def _(contract: LeadershipInformedV1) -> Described:
    who = "DSL" if contract.audience == "dsl" else "senior management"
    return Described(
        f"{contract.audience}_informed",
        f"{who} told ({contract.person}, {_words(contract.how)}), "
        f"{contract.minutes_after_disclosure} min after the disclosure",
    )


@describe.register
def _(contract: DslAssignedV1) -> Described:
    summary = f"{contract.dsl} takes the case"
    if contract.handover_reason:
        summary += f" (handed over: {contract.handover_reason})"
    return Described("dsl_assigned", summary)


@describe.register
def _(contract: DeviceSearchAuthorisedV1) -> Described:
    return Described(
        "device_search_authorised",
        f"{contract.authorised_by} authorised {contract.searcher} to search the device of "
        f"{contract.pseudonym}",
        actor=contract.authorised_by,
        actor_role="head",
    )


@describe.register
def _(contract: DeviceSearchedV1) -> Described:
    summary = (
        f"{contract.searcher} searched {contract.device} ({contract.pseudonym}), "
        f"{contract.safeguarding_team_member} present: {_words(contract.outcome)}"
    )
    if contract.emergency:
        summary += (
            f"; EMERGENCY EXCEPTION, for review: {contract.emergency_justification}; "
            f"not met: {'; '.join(contract.conditions_not_met) or 'none'}"
        )
    return Described(
        "device_searched_emergency" if contract.emergency else "device_searched", summary
    )


@describe.register
def _(contract: DeviceSearchDeclinedV1) -> Described:
    return Described(
        "device_search_declined", f"Not searched ({contract.pseudonym}): {contract.reason}"
    )


@describe.register
def _(contract: DeviceCustodyRecordedV1) -> Described:
    device = _whose(contract.device, contract.pseudonym)
    seal = f"seal {contract.seal_number}"
    if contract.action == "confiscated":
        off = "switched off" if contract.switched_off else "NOT switched off"
        summary = f"{device} confiscated, {off}, {seal}: held by {contract.held_by}"
    elif contract.action == "transferred":
        summary = f"{device} transferred, {seal}: held by {contract.held_by}"
    else:
        summary = (
            f"{device} handed to the police ({contract.held_by}), officer reference "
            f"{contract.officer_reference}, {seal}"
        )
    if contract.location:
        summary += f", {contract.location}"
    if contract.note:
        summary += f"; note: {contract.note}"
    return Described(f"device_{contract.action}", summary)


@describe.register
def _(contract: ImageNotViewedAttestedV1) -> Described:
    return Described(
        "image_not_viewed_attested",
        f"{contract.recorded_by} attests they did not view the image: {contract.context}",
    )


@describe.register
def _(contract: ImageViewingAgreedV1) -> Described:
    return Described(
        "image_viewing_agreed",
        f"{contract.recorded_by} agreed that {contract.dsl} may view the image of "
        f"{contract.pseudonym}: {contract.reason}",
    )


@describe.register
def _(contract: ImageViewedV1) -> Described:
    # What was seen stays in intake's record: the chronology says who, why and what was
    # done, and does not copy a description of the image into a second store.
    where = "on school premises" if contract.on_school_premises else "OFF school premises"
    summary = (
        f"{contract.recorded_by} viewed the image of {contract.pseudonym}, agreed by "
        f"{contract.agreed_by}, {contract.senior_present} present, {where}: "
        f"{contract.reason}; done: {contract.what_was_done}"
    )
    if contract.same_sex_not_possible_reason:
        summary += f"; not the same sex: {contract.same_sex_not_possible_reason}"
    return Described("image_viewed", summary)


@describe.register
def _(contract: ImageContainedV1) -> Described:
    what = (
        "School network blocked to all users"
        if contract.action == "network_blocked"
        else "Image isolated"
    )
    return Described(contract.action, f"{what} by {contract.done_by}: {contract.where}")


@describe.register
def _(contract: ImageReportedToSiteV1) -> Described:
    return Described(
        "image_reported_to_site",
        f"Reported to {contract.site}, the site's reference {contract.report_reference}",
    )


@describe.register
def _(contract: DeletionRequestedV1) -> Described:
    places = ", ".join(_words(p) for p in contract.places)
    return Described(
        "deletion_requested",
        f"{contract.pseudonym} asked to delete every copy ({places}) by "
        f"{contract.deadline.astimezone(UTC):%Y-%m-%d %H:%M} UTC",
    )


@describe.register
def _(contract: DeletionConfirmedV1) -> Described:
    summary = f"{contract.pseudonym} confirmed deleting every copy: {contract.how}"
    if contract.agencies_involved:
        summary = (
            f"FOR REVIEW: {summary}, after another agency became involved "
            f"({', '.join(_words(c) for c in contract.agencies_involved)}): "
            "tell that agency"
        )
    return Described("deletion_confirmed", summary)


# Referral: steps 5-6.


@describe.register
def _(contract: AssessmentRecordedV1) -> Described:
    # The first clause is the summary as it was before criteria and actions were published:
    # readers (and tests) that match its start keep working.
    missing = ", ".join(contract.missing_facts) or "none"
    summary = (
        f"Assessment {contract.assessment_number}: {contract.classification} "
        f"under policy {contract.policy_version}; facts still missing: {missing}"
    )
    if contract.subtype:
        summary += f"; subtype: {_words(contract.subtype)}"
    # Stated from uk-2024.3 on; an earlier assessment's summary reads as it always did.
    if contract.classification_reason:
        summary += f"; why: {contract.classification_reason}"
    # Assessments under uk-2024.1 published no criteria: say nothing rather than "none met".
    if contract.criteria:
        summary += f"; {_criteria_met(contract.criteria)}"
    if contract.actions:
        summary += f"; actions: {', '.join(_action(a) for a in contract.actions)}"
    # The referral service assesses on its own, so no member of staff is the actor.
    return Described("assessment_recorded", summary, actor_role="system")


@describe.register
def _(contract: ActionCompletedV1) -> Described:
    how = "in person" if contract.how == "in_person" else f"by {_words(contract.how)}"
    summary = f"{_words(contract.action)}: done {how} with {contract.whom}"
    if contract.their_reference:
        summary += f", their reference {contract.their_reference}"
    return Described("action_completed", summary)


@describe.register
def _(contract: ActionDeclinedV1) -> Described:
    return Described(
        "action_declined", f"{_words(contract.action)}: not taken; reason: {contract.reason}"
    )


@describe.register
def _(contract: ClassificationOverriddenV1) -> Described:
    subtype = f" ({_words(contract.subtype)})" if contract.subtype else ""
    return Described(
        "classification_overridden",
        f"The DSL classifies the case {contract.classification}{subtype}, in place of the "
        f"computed classification: {contract.reason}",
    )


@describe.register
def _(contract: RiskAssessedV1) -> Described:
    return Described("risk_assessed", f"Risk assessed {contract.conclusion}: {contract.reasons}")


@describe.register
def _(contract: SafeguardRecordedV1) -> Described:
    return Described(
        "safeguard_recorded",
        f"Safeguard for {contract.pseudonym} ({_words(contract.kind)}): {contract.detail}",
    )


@describe.register
def _(contract: PoliceOutcomeRecordedV1) -> Described:
    summary = (
        f"Police outcome {contract.code} on {contract.outcome_date:%Y-%m-%d}, "
        f"police reference {contract.police_reference}"
    )
    if contract.note:
        summary += f"; note: {contract.note}"
    return Described("police_outcome_recorded", summary)


def _criteria_met(criteria: tuple[CriterionV1, ...]) -> str:
    """The immediate-referral criteria met, by number and name."""
    met = [f"{c.number} ({_words(c.name)})" for c in criteria if c.status == "met"]
    return f"criteria met: {', '.join(met)}" if met else "no immediate-referral criterion met"


def _action(action: RequiredActionV1) -> str:
    """One action the policy asks for, e.g. ``police required within 60 min``."""
    level = "DSL decides" if action.level == "dsl_decides" else action.level
    return f"{_words(action.action)} {level} within {_duration(action.due_within_minutes)}"


def _duration(minutes: int) -> str:
    """``60 min``, but a day as ``24 h`` rather than ``1440 min``."""
    if minutes >= 120 and minutes % 60 == 0:
        return f"{minutes // 60} h"
    return f"{minutes} min"


def _words(code: str) -> str:
    """A code in words: ``parents_or_carers`` as ``parents or carers``."""
    return code.replace("_", " ")


def _whose(device: str, pseudonym: str) -> str:
    """A device in words, with the young person it belongs to if it is one's."""
    return f"{device} ({pseudonym})" if pseudonym else device


@describe.register
def _(contract: ActionEscalatedV1) -> Described:
    to = "the DSL" if contract.to == "dsl" else "the head"
    return Described(
        "action_escalated",
        f"FOR ATTENTION: {_words(contract.action)} overdue since "
        f"{contract.due_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC, escalated to {to} "
        f"({contract.rule}; policy {contract.policy_version})",
        actor_role="system",
    )
