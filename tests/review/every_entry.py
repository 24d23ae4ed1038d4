"""One invented case with every kind of entry review shows, and the ways each can be worded:
every upstream contract review puts into words (from its golden sample, and changed where its
words branch), and every kind of review's own entry, with and without its optional facts.

Its ids and times are fixed, so that what review makes of it (the chronology's words, the
answers of its routes) can be kept as golden files and compared byte for byte."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from services.review.application import Reviews
from services.review.domain.case_view import OWN_KINDS
from services.review.domain.own_entries import OwnKind
from tests.review.story import T0, Story

CASE_ID = UUID("0b6f3a52-9c1d-4e7a-8f20-5d3c2b1a0e99")
REFERENCE = "OAK-2026-0042"

_CRITERION = {"number": 3, "name": "coercion_or_blackmail", "status": "met", "decided_by": []}
_SLOW = {
    "action": "childrens_social_care",
    "level": "dsl_decides",
    "why": "invented",
    "due_within_minutes": 90,
    "declinable": True,
}

UPSTREAM: list[tuple[str, dict[str, Any]]] = [
    ("intake.incident.reported.v1", {}),
    ("intake.incident.reported.v1", {"disclosure_route": "peer"}),
    ("intake.triage.recorded.v1", {}),
    ("intake.triage.recorded.v2", {"entry_number": 1, "correction_reason": ""}),
    ("intake.triage.recorded.v2", {}),
    ("intake.young_person.recorded.v1", {}),
    (
        "intake.young_person.recorded.v1",
        {
            "year_group": None,
            "age": 14,
            "sex": "not_recorded",
            "vulnerabilities": [],
            "correction_reason": "Invented: the year was wrong",
        },
    ),
    ("intake.leadership.informed.v1", {}),
    (
        "intake.leadership.informed.v1",
        {"audience": "senior_management", "person": "head.invented", "how": "written"},
    ),
    ("intake.dsl.assigned.v1", {}),
    ("intake.dsl.assigned.v1", {"dsl": "dsl.other", "handover_reason": "Invented: leave"}),
    ("intake.device_search.authorised.v1", {}),
    ("intake.device_search.recorded.v1", {}),
    (
        "intake.device_search.recorded.v1",
        {"emergency": False, "emergency_justification": "", "conditions_not_met": []},
    ),
    ("intake.device_search.recorded.v1", {"conditions_not_met": []}),
    ("intake.device_search.declined.v1", {}),
    (
        "intake.device_custody.recorded.v1",
        {"action": "confiscated", "switched_off": False, "location": "the DSL's safe"},
    ),
    (
        "intake.device_custody.recorded.v1",
        {"action": "confiscated", "pseudonym": "", "note": ""},
    ),
    ("intake.device_custody.recorded.v1", {"action": "transferred", "held_by": "head.invented"}),
    ("intake.device_custody.recorded.v1", {}),
    ("intake.image_not_viewed.attested.v1", {}),
    ("intake.image_viewing.agreed.v1", {}),
    ("intake.image.viewed.v1", {}),
    (
        "intake.image.viewed.v1",
        {"on_school_premises": False, "same_sex_not_possible_reason": ""},
    ),
    ("intake.image.contained.v1", {}),
    ("intake.image.contained.v1", {"action": "network_blocked"}),
    ("intake.image.reported_to_site.v1", {}),
    ("intake.deletion.requested.v1", {}),
    ("intake.deletion.confirmed.v1", {}),
    ("intake.deletion.confirmed.v1", {"agencies_involved": []}),
    ("intake.entry.recorded.v1", {}),
    (
        "referral.assessment.recorded.v1",
        {
            "assessment_number": 1,
            "classification": "undetermined",
            "subtype": "",
            "policy_version": "uk-2024.1",
            "missing_facts": ["adult_involvement", "image_nature"],
            "criteria": [],
            "actions": [],
            "actions_after": [],
        },
    ),
    (
        "referral.assessment.recorded.v1",
        {
            "assessment_number": 2,
            "policy_version": "uk-2024.3",
            "classification_reason": "Invented: an adult may be involved",
            "criteria": [{**_CRITERION, "status": "not_met"}],
            "actions": [_SLOW, {**_SLOW, "level": "recommended", "due_within_minutes": 180}],
            "actions_after": [],
        },
    ),
    (
        "referral.assessment.recorded.v1",
        {"assessment_number": 3, "criteria": [_CRITERION], "actions_after": []},
    ),
    # Last of the assessments: its actions are the case's (police open, parents declined).
    ("referral.assessment.recorded.v1", {"assessment_number": 4}),
    ("referral.action.completed.v1", {}),
    (
        "referral.action.completed.v1",
        {"action": "senior_management", "how": "in_person", "their_reference": ""},
    ),
    ("referral.action.declined.v1", {}),
    ("referral.action.escalated.v1", {}),
    ("referral.action.escalated.v1", {"to": "head"}),
    ("referral.classification.overridden.v1", {}),
    ("referral.classification.overridden.v1", {"subtype": ""}),
    ("referral.risk.assessed.v1", {}),
    ("referral.safeguard.recorded.v1", {}),
    ("referral.police_outcome.recorded.v1", {}),
    ("referral.police_outcome.recorded.v1", {"note": ""}),
    ("referral.entry.recorded.v1", {}),
]
"""Each upstream contract as published (subject, and changes to its golden sample), in order."""

SUPPORT = {"pseudonym": "YP-1", "kind": "safety_plan", "given_by": "Head of Year", "detail": "x"}
REVIEW = {
    "what_worked": "Invented: told within minutes",
    "what_did_not_work": "Invented: slow site",
    "procedure_changes": "Invented: none",
}

OWN: list[tuple[str, dict[str, Any]]] = [
    ("support", SUPPORT),
    ("staff-informed", {"staff": "Year 9 tutors", "what_and_why": "Invented: to watch"}),
    (
        "parents-conversations",
        {"pseudonym": "YP-1", "with_whom": "mother", "how": "video_call", "what_was_said": "x"},
    ),
    (
        "education-sessions",
        {"audience": "Year 9", "topic": "Invented: consent", "delivered_by": "PC Invented"},
    ),
    ("removal-help", {"pseudonym": "YP-1", "service": "ncmec_take_it_down", "status": "used"}),
    (
        "removal-help",
        {
            "pseudonym": "YP-1",
            "service": "childline_iwf_report_remove",
            "status": "signposted",
            "note": "Invented: with a leaflet",
        },
    ),
    ("site-removals", {"site": "Invented app", "status": "requested"}),
    (
        "site-removals",
        {
            "site": "Invented app",
            "status": "removed",
            "their_reference": "SITE-1",
            "note": "Invented: gone",
        },
    ),
    (
        "transfers",
        {
            "pseudonym": "YP-1",
            "to_school": "ELM",
            "to_whom": "their DSL",
            "method": "secure_email",
        },
    ),
    ("transfers/confirmations", {"confirmed_by": "ELM's DSL"}),
    (
        "transfers",
        {
            "pseudonym": "YP-1",
            "to_school": "Invented School, Town",
            "to_whom": "their head",
            "method": "hand_delivered",
            "note": "Invented: signed for",
        },
    ),
    (
        "transfers/confirmations",
        {"confirmed_by": "their head", "transfer": len(UPSTREAM) + 11, "note": "x"},
    ),
    ("reviews", REVIEW),
    ("closure", {}),
    ("reopening", {"reason": "Invented: new facts"}),
    ("reviews", REVIEW),
    ("closure", {"note": "Invented: all done"}),
]
"""Each of review's own entries, by the route that records it and its body, in order."""


def upstream_at(index: int) -> datetime:
    """When the ``index``-th upstream contract happened (and was recorded, two seconds on)."""
    return T0 + timedelta(minutes=index)


def own_at(index: int) -> datetime:
    """When the ``index``-th own entry happened (recorded a minute on), after the upstream."""
    return T0 + timedelta(hours=2, minutes=5 * index)


def tell_upstream(reviews: Reviews) -> Story:
    """The case, told to ``reviews`` as intake and referral publish it."""
    story = Story(reviews, case_id=CASE_ID, reference=REFERENCE)
    for index, (subject, changes) in enumerate(UPSTREAM):
        at = upstream_at(index)
        story.publish(subject, at, at + timedelta(seconds=2), **changes)
    return story


def own_kind(route: str) -> type[OwnKind]:
    """The kind of review's own entry ``route`` records."""
    return next(kind for kind in OWN_KINDS.values() if route == kind.ROUTE)


def record_own(reviews: Reviews) -> None:
    """Review's own entries of the case, recorded by the DSL as its routes would, each at its
    own fixed time; and reads of it, as it stands and as it stood."""
    for index, (route, facts) in enumerate(OWN):
        at = own_at(index)
        reviews.clock = lambda at=at: at + timedelta(minutes=1)  # type: ignore[misc]
        reviews.record_own_entry(
            CASE_ID,
            own_kind(route).KIND,
            facts,
            recorded_by="dsl.oak",
            recorded_by_role="dsl",
            occurred_at=at,
            idempotency_key=f"k-{index}",
        )
    at = own_at(len(OWN))
    reviews.clock = lambda: at
    reviews.record_read(CASE_ID, user="auditor.oak", role="auditor", what="case_view")
    reviews.record_read(
        CASE_ID, user="auditor.oak", role="auditor", what="export.json", as_of=upstream_at(9)
    )
