"""What each upstream contract says in a case's chronology, in words.

:func:`describe` is pure: it reads only the contract it is given, never a store, so that a
replay of the same streams gives the same chronology, and each contract's wording can be tested
on its own. Where a contract's words are its fields in a sentence, they are a template in
:data:`WORDS`; the others are worded one by one below it.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from functools import singledispatch
from typing import Any

from services.review.domain.own_entries import spoken, with_note
from shared.contracts import EntryRecordedContract, intake, referral
from shared.contracts.referral import CriterionV1, RequiredActionV1


@dataclass(frozen=True)
class Described:
    """A chronology entry's kind and summary; ``actor`` and ``actor_role`` replace the
    contract's recorder when someone else did it (the head who authorised a search)."""

    kind: str
    summary: str
    actor: str | None = None
    actor_role: str | None = None


class _Wording(string.Formatter):
    """How a template reads a contract's fields: ``{reason}`` as it is, ``{kind!w}`` a code in
    words, ``{deadline!u:%Y-%m-%d %H:%M}`` a time in UTC."""

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if conversion == "w":
            return spoken(value)
        if conversion == "u":
            return value.astimezone(UTC)
        return super().convert_field(value, conversion)


_WORDING = _Wording()


@dataclass(frozen=True)
class Words:
    """A contract in words, where its words are its fields in a sentence: the kind of entry it
    makes and its ``template`` (each over the contract's fields, and the words ``chosen``
    from them), the ``clauses`` (field, template) added when their field is not empty, and
    who did it if not its recorder (``actor``: the field naming them; ``actor_role``: their
    role)."""

    kind: str
    template: str
    clauses: tuple[tuple[str, str], ...] = ()
    actor: str | None = None
    actor_role: str | None = None
    chosen: Callable[[Any], dict[str, str]] | None = None

    def describe(self, contract: object) -> Described:
        fields = {**vars(contract), **(self.chosen(contract) if self.chosen else {})}
        summary = _WORDING.format(self.template, **fields)
        for name, clause in self.clauses:
            if fields[name]:
                summary += _WORDING.format(clause, **fields)
        actor = fields[self.actor] if self.actor else None
        kind = _WORDING.format(self.kind, **fields)
        return Described(kind, summary, actor=actor, actor_role=self.actor_role)


def _about(young_person: intake.YoungPersonRecordedV1) -> str:
    """A young person's year, age and sex, as far as they are recorded."""
    year, age = young_person.year_group, young_person.age
    said = (f"Year {year}" if year is not None else "", f"age {age}" if age is not None else "")
    return ", ".join(filter(None, (*said, young_person.sex)))


WORDS: dict[type, Words] = {
    # Intake: steps 1-4.
    intake.IncidentReportedV1: Words(
        "disclosure_recorded", "Disclosure ({disclosure_route}): {summary}"
    ),
    intake.YoungPersonRecordedV1: Words(
        "young_person_{state}",
        "{pseudonym} ({about}): {roles}",
        clauses=(
            ("vulnerabilities", "; vulnerabilities: {vulnerabilities}"),
            ("correction_reason", "; corrected: {correction_reason}"),
        ),
        chosen=lambda c: {
            "state": "corrected" if c.correction_reason else "recorded",
            "about": _about(c),
            "roles": ", ".join(c.roles),
            "vulnerabilities": ", ".join(c.vulnerabilities),
        },
    ),
    intake.LeadershipInformedV1: Words(
        "{audience}_informed",
        "{who} told ({person}, {how!w}), {minutes_after_disclosure} min after the disclosure",
        chosen=lambda c: {"who": "DSL" if c.audience == "dsl" else "senior management"},
    ),
    intake.DslAssignedV1: Words(
        "dsl_assigned",
        "{dsl} takes the case",
        clauses=(("handover_reason", " (handed over: {handover_reason})"),),
    ),
    intake.DeviceSearchAuthorisedV1: Words(
        "device_search_authorised",
        "{authorised_by} authorised {searcher} to search the device of {pseudonym}",
        actor="authorised_by",
        actor_role="head",
    ),
    intake.DeviceSearchDeclinedV1: Words(
        "device_search_declined", "Not searched ({pseudonym}): {reason}"
    ),
    intake.ImageNotViewedAttestedV1: Words(
        "image_not_viewed_attested",
        "{recorded_by} attests they did not view the image: {context}",
    ),
    intake.ImageViewingAgreedV1: Words(
        "image_viewing_agreed",
        "{recorded_by} agreed that {dsl} may view the image of {pseudonym}: {reason}",
    ),
    # What was seen stays in intake's record: the chronology says who, why and what was done,
    # and does not copy a description of the image into a second store.
    intake.ImageViewedV1: Words(
        "image_viewed",
        "{recorded_by} viewed the image of {pseudonym}, agreed by {agreed_by}, "
        "{senior_present} present, {where}: {reason}; done: {what_was_done}",
        clauses=(
            ("same_sex_not_possible_reason", "; not the same sex: {same_sex_not_possible_reason}"),
        ),
        chosen=lambda c: {
            "where": "on school premises" if c.on_school_premises else "OFF school premises"
        },
    ),
    intake.ImageContainedV1: Words(
        "{action}",
        "{what} by {done_by}: {where}",
        chosen=lambda c: {
            "what": "School network blocked to all users"
            if c.action == "network_blocked"
            else "Image isolated"
        },
    ),
    intake.DeletionRequestedV1: Words(
        "deletion_requested",
        "{pseudonym} asked to delete every copy ({places}) by {deadline!u:%Y-%m-%d %H:%M} UTC",
        chosen=lambda c: {"places": ", ".join(spoken(p) for p in c.places)},
    ),
    intake.ImageReportedToSiteV1: Words(
        "image_reported_to_site", "Reported to {site}, the site's reference {report_reference}"
    ),
    # Referral: steps 5-6.
    referral.ActionCompletedV1: Words(
        "action_completed",
        "{action!w}: done {how} with {whom}",
        clauses=(("their_reference", ", their reference {their_reference}"),),
        chosen=lambda c: {"how": "in person" if c.how == "in_person" else f"by {spoken(c.how)}"},
    ),
    referral.ActionDeclinedV1: Words("action_declined", "{action!w}: not taken; reason: {reason}"),
    referral.ClassificationOverriddenV1: Words(
        "classification_overridden",
        "The DSL classifies the case {classification}{subtype}, in place of the computed "
        "classification: {reason}",
        chosen=lambda c: {"subtype": f" ({spoken(c.subtype)})" if c.subtype else ""},
    ),
    referral.ActionEscalatedV1: Words(
        "action_escalated",
        "FOR ATTENTION: {action!w} overdue since {due_at!u:%Y-%m-%d %H:%M} UTC, escalated to "
        "{to} ({rule}; policy {policy_version})",
        actor_role="system",
        chosen=lambda c: {"to": "the DSL" if c.to == "dsl" else "the head"},
    ),
    referral.RiskAssessedV1: Words("risk_assessed", "Risk assessed {conclusion}: {reasons}"),
    referral.SafeguardRecordedV1: Words(
        "safeguard_recorded", "Safeguard for {pseudonym} ({kind!w}): {detail}"
    ),
    referral.PoliceOutcomeRecordedV1: Words(
        "police_outcome_recorded",
        "Police outcome {code} on {outcome_date:%Y-%m-%d}, police reference {police_reference}",
        clauses=(("note", "; note: {note}"),),
    ),
}
"""The contracts whose words are their fields in a sentence, in a template each; the others'
words are counted, chosen or joined, by the functions registered with :func:`describe`."""


@singledispatch
def describe(contract: object) -> Described | None:
    """The chronology entry ``contract`` makes, or None for a contract review does not show."""
    words = WORDS.get(type(contract))
    return words.describe(contract) if words is not None else None


# Any producer's entry of a kind with no contract of its own: its producer's words.


@describe.register
def _(contract: EntryRecordedContract) -> Described:
    return Described(contract.kind, contract.summary)


# Intake: steps 1-4, whose words are more than their fields in a sentence.


@describe.register(intake.TriageRecordedV1)
@describe.register(intake.TriageRecordedV2)
def _(contract: intake.TriageRecordedV1 | intake.TriageRecordedV2) -> Described:
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
def _(contract: intake.DeviceSearchedV1) -> Described:
    summary = (
        f"{contract.searcher} searched {contract.device} ({contract.pseudonym}), "
        f"{contract.safeguarding_team_member} present: {spoken(contract.outcome)}"
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
def _(contract: intake.DeviceCustodyRecordedV1) -> Described:
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
    return Described(f"device_{contract.action}", with_note(summary, contract.note))


@describe.register
def _(contract: intake.DeletionConfirmedV1) -> Described:
    summary = f"{contract.pseudonym} confirmed deleting every copy: {contract.how}"
    if contract.agencies_involved:
        summary = (
            f"FOR REVIEW: {summary}, after another agency became involved "
            f"({', '.join(spoken(c) for c in contract.agencies_involved)}): "
            "tell that agency"
        )
    return Described("deletion_confirmed", summary)


# Referral: steps 5-6.


@describe.register
def _(contract: referral.AssessmentRecordedV1) -> Described:
    # The first clause is the summary as it was before criteria and actions were published:
    # readers (and tests) that match its start keep working.
    missing = ", ".join(contract.missing_facts) or "none"
    summary = (
        f"Assessment {contract.assessment_number}: {contract.classification} "
        f"under policy {contract.policy_version}; facts still missing: {missing}"
    )
    if contract.subtype:
        summary += f"; subtype: {spoken(contract.subtype)}"
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


def _criteria_met(criteria: tuple[CriterionV1, ...]) -> str:
    """The immediate-referral criteria met, by number and name."""
    met = [f"{c.number} ({spoken(c.name)})" for c in criteria if c.status == "met"]
    return f"criteria met: {', '.join(met)}" if met else "no immediate-referral criterion met"


def _action(action: RequiredActionV1) -> str:
    """One action the policy asks for, e.g. ``police required within 60 min``."""
    level = "DSL decides" if action.level == "dsl_decides" else action.level
    return f"{spoken(action.action)} {level} within {_duration(action.due_within_minutes)}"


def _duration(minutes: int) -> str:
    """``60 min``, but a day as ``24 h`` rather than ``1440 min``."""
    if minutes >= 120 and minutes % 60 == 0:
        return f"{minutes // 60} h"
    return f"{minutes} min"


def _whose(device: str, pseudonym: str) -> str:
    """A device in words, with the young person it belongs to if it is one's."""
    return f"{device} ({pseudonym})" if pseudonym else device
