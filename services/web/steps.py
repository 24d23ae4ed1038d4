"""The policy's eight steps as a GOV.UK task list: each step's state, worked out from what the
three services answer about a case (never from their stores).

Pure: :func:`task_list` takes the services' answers and returns the steps, so each state can
be tested on invented answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from services.review.domain.containment import CONTAINMENT
from services.review.domain.own_entries import OwnKind
from services.review.domain.review_and_closure import CaseClosed, CaseReopened, ReviewRecorded
from shared.vocabulary import ContainmentAction

STEP_TITLES = {
    1: "Disclosure by a student",
    2: "Searching a device",
    3: "What to do and not do with the image",
    4: "Who should deal with the incident",
    5: "Deciding on a response",
    6: "Contacting other agencies",
    7: "Containing the incident and managing pupil reaction",
    8: "Reviewing outcomes and procedures",
}
"""The steps as the school's policy names them."""

COMPLETED = "Completed"
IN_PROGRESS = "In progress"
NOT_STARTED = "Not yet started"
CANNOT_START = "Cannot start yet"
NOT_NEEDED = "Not needed"

# Review's chronology names each entry's kind; these say which step each kind belongs to.
_EXACT = {
    "disclosure_recorded": 1,
    "triage_recorded": 1,
    "dsl_assigned": 4,
    "assessment_recorded": 5,
    "risk_assessed": 5,
    "classification_overridden": 5,
    "safeguard_recorded": 5,
    "young_person_heard": 5,
    "police_outcome_recorded": 6,
    "case_read": 0,
}
_PREFIXES = (
    ("young_person_", 1),
    ("device_search", 2),
    ("search_", 2),
    ("device_custody", 3),
    ("image_", 3),
    ("deletion_", 3),
    ("action_", 6),
    ("child_protection_file", 8),
)
_OWN: tuple[type[OwnKind], ...] = (*CONTAINMENT, ReviewRecorded, CaseClosed, CaseReopened)
_OWN_KINDS: dict[str, int] = {kind.KIND: kind.STEP for kind in _OWN}
"""Review's own kinds say their step themselves."""
_SUFFIXES = (("_informed", 4),)
_CONTAINED = set(ContainmentAction.__args__)  # type: ignore[attr-defined]


def step_of(kind: str) -> int:
    """The policy step an entry of this kind belongs to (0: records kept beside the steps)."""
    if kind in _EXACT:
        return _EXACT[kind]
    if kind in _OWN_KINDS:
        return _OWN_KINDS[kind]
    if kind in _CONTAINED:
        return 3  # the image isolated, the network blocked
    for prefix, step in _PREFIXES:
        if kind.startswith(prefix):
            return step
    for suffix, step in _SUFFIXES:
        if kind.endswith(suffix):
            return step
    return 0


@dataclass(frozen=True)
class Step:
    """One row of the task list."""

    number: int
    title: str
    status: str
    hint: str = ""
    entries: list[dict[str, Any]] = field(default_factory=list)

    @property
    def href(self) -> str:
        return f"#step-{self.number}"


def task_list(
    review: dict[str, Any], referral: dict[str, Any] | None, triage: list[dict[str, Any]]
) -> list[Step]:
    """Each step's state, from review's view, referral's case and intake's triage."""
    by_step: dict[int, list[dict[str, Any]]] = {n: [] for n in STEP_TITLES}
    for entry in review.get("entries", []):
        step = step_of(entry["kind"])
        if step:
            by_step[step].append(entry)
    answers = triage[-1]["answers"] if triage else {}
    actions = (referral or review).get("actions", [])
    open_actions = [a for a in actions if a["status"] == "open"]
    risk_assessed = any(e["kind"] == "risk_assessed" for e in by_step[5])
    closed = review.get("status") == "closed"

    def state(number: int) -> tuple[str, str]:
        entries = by_step[number]
        if number == 1:
            return (COMPLETED, "") if triage else (IN_PROGRESS, "The triage is not recorded")
        if number == 2:
            if entries:
                return COMPLETED, ""
            if answers.get("device_in_possession") == "no":
                return NOT_NEEDED, "No device is in the school's possession"
            return NOT_STARTED, ""
        if number in (3, 7):
            return (COMPLETED, "") if entries else (NOT_STARTED, "")
        if number == 4:
            if review.get("dsl"):
                return COMPLETED, f"{review['dsl']} has the case"
            return NOT_STARTED, "No DSL has taken the case"
        if number == 5:
            if risk_assessed:
                return COMPLETED, ""
            if not triage:
                return CANNOT_START, "Record the triage first"
            return NOT_STARTED, ""
        if number == 6:
            if open_actions:
                return IN_PROGRESS, f"{len(open_actions)} action(s) open"
            return (COMPLETED, "") if actions else (CANNOT_START, "No action is required yet")
        if closed:
            return COMPLETED, "The case is closed"
        if open_actions:
            return CANNOT_START, "Every required action must be done or declined first"
        return (IN_PROGRESS, "") if entries else (NOT_STARTED, "")

    steps = []
    for number, title in STEP_TITLES.items():
        status, hint = state(number)
        steps.append(Step(number, title, status, hint, by_step[number]))
    return steps


def corrections(entries: list[dict[str, Any]]) -> dict[int, int]:
    """Each correcting entry's number → the number of the entry it corrects. Review names a
    correction's kind ``…_corrected`` (a young person: by pseudonym, the latest entry of that
    young person; a triage: the triage before). Nothing else corrects: a declined action or
    an override stands beside what it is about."""
    corrects: dict[int, int] = {}
    latest: dict[str, int] = {}
    for entry in entries:
        kind = entry["kind"]
        base = (
            kind.removesuffix("_corrected") + "_recorded" if kind.endswith("_corrected") else kind
        )
        if not base.endswith("_recorded"):
            continue
        key = base
        if base == "young_person_recorded":
            key = f"{base}:{entry['summary'].split(' ')[0]}"
        if kind.endswith("_corrected") and key in latest:
            corrects[entry["number"]] = latest[key]
        latest[key] = entry["number"]
    return corrects
