"""Decision replay: re-run, for every assessment referral has stored, the policy version it was
made under over the facts it read, and compare the answer with the recorded outcome byte for
byte (both canonical JSON).

An assessment is *reproduced* when the bytes are equal; it *differs* otherwise, with each field
where the recorded and the replayed outcome part (the classification, the subtype, a criterion's
status, an action's level…). It is *not replayable* when the first build recorded it without the
facts it read, or when this build no longer has its policy version: a released version must
never go, so that one is a failure of the build, not of the record.

Everything is read from the stored events (``event_store.get``), never from the repository's
cache or a snapshot: the audit checks what is on disk.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any
from uuid import UUID

from services.referral.application import Referrals
from services.referral.domain import Referral
from services.referral.policy import CaseFacts, UnknownPolicyVersionError, assess
from shared.topics import topics_of

ABSENT = "(none)"
"""How a field, criterion or action that one side does not have is shown."""


class Verdict(StrEnum):
    """What replaying one assessment found."""

    REPRODUCED = "reproduced"
    DIFFERS = "differs"
    NO_FACTS = "no_facts"
    """Not replayable: recorded by the first build, which kept no facts."""
    NO_SUCH_VERSION = "no_such_version"
    """Not replayable: this build lacks the policy version. Must never happen."""


@dataclass(frozen=True)
class FieldDifference:
    """One field where the recorded and the replayed outcome part, each shown as text."""

    field: str
    recorded: str
    replayed: str


@dataclass(frozen=True)
class Replay:
    """One assessment replayed: the recorded outcome beside the replayed one."""

    case_id: UUID
    reference: str
    number: int
    policy_version: str
    verdict: Verdict
    recorded: str
    replayed: str = ""
    differences: tuple[FieldDifference, ...] = ()
    problem: str = ""
    """Why the policy gave no outcome at all (it raised on the recorded facts)."""

    @property
    def replayable(self) -> bool:
        return self.verdict in (Verdict.REPRODUCED, Verdict.DIFFERS)


@dataclass
class Tally:
    """The counts of a replay run: how many assessments came out each way."""

    counts: Counter[Verdict] = field(default_factory=Counter)

    def add(self, result: Replay) -> None:
        self.counts[result.verdict] += 1

    @property
    def failed(self) -> bool:
        """A decision that does not reproduce, or a released version this build lost."""
        return bool(self.counts[Verdict.DIFFERS] or self.counts[Verdict.NO_SUCH_VERSION])

    def line(self) -> str:
        no_facts, lacking = self.counts[Verdict.NO_FACTS], self.counts[Verdict.NO_SUCH_VERSION]
        counts = (
            f"{self.counts.total()} assessments replayed, "
            f"{self.counts[Verdict.REPRODUCED]} reproduced, {self.counts[Verdict.DIFFERS]} "
            f"differ, {no_facts + lacking} not replayable"
        )
        if not no_facts + lacking:
            return counts
        return (
            f"{counts} ({no_facts} recorded before facts were kept, "
            f"{lacking} under a policy version this build lacks)"
        )


def replay_assessment(recorded: Referral.AssessmentRecorded) -> Replay:
    """Re-run the recorded assessment's policy version over its recorded facts."""
    result = Replay(
        case_id=recorded.originator_id,
        reference=recorded.reference,
        number=recorded.number,
        policy_version=recorded.policy_version,
        verdict=Verdict.NO_FACTS,
        recorded=recorded.outcome,
    )
    if not recorded.facts:
        return result
    try:
        replayed = assess(CaseFacts(recorded.facts), recorded.policy_version).canonical()
    except UnknownPolicyVersionError:
        return replace(result, verdict=Verdict.NO_SUCH_VERSION)
    except Exception as e:
        # A policy that cannot even read the facts it once decided on has not reproduced the
        # decision: reported as a difference (a failure), and the audit goes on to the rest.
        return replace(result, verdict=Verdict.DIFFERS, problem=f"{type(e).__name__}: {e}")
    if replayed == recorded.outcome:
        return replace(result, verdict=Verdict.REPRODUCED, replayed=replayed)
    return replace(
        result,
        verdict=Verdict.DIFFERS,
        replayed=replayed,
        differences=differences(recorded.outcome, replayed),
    )


def replay_case(app: Referrals, case_id: UUID) -> list[Replay]:
    """Every assessment of one case, replayed from its stored events, in order."""
    return [
        replay_assessment(e)
        for e in app.repository.event_store.get(case_id)
        if isinstance(e, Referral.AssessmentRecorded)
    ]


def case_ids(app: Referrals) -> Iterator[UUID]:
    """Every case referral holds, in the order it opened them (from the notification log)."""
    opened = topics_of(Referral.Opened)  # old topics too: cases opened before issue 13
    start = None
    while True:
        page = app.recorder.select_notifications(
            start=start, limit=1000, topics=opened, inclusive_of_start=False
        )
        if not page:
            return
        yield from (UUID(str(n.originator_id)) for n in page)
        start = page[-1].id


def replay_all(app: Referrals) -> Iterator[Replay]:
    """Every assessment of every case, replayed."""
    for case_id in case_ids(app):
        yield from replay_case(app, case_id)


# Field by field: where two canonical outcomes part.


def differences(recorded: str, replayed: str) -> tuple[FieldDifference, ...]:
    """The fields where two canonical outcomes part: the top-level fields (classification,
    subtype, missing facts…), each criterion by its number, each action by its name, and the
    order of criteria and actions. Bytes that differ with no field to show are shown whole."""
    old: dict[str, Any] = json.loads(recorded)
    new: dict[str, Any] = json.loads(replayed)
    found: list[FieldDifference] = []
    for key in sorted((set(old) | set(new)) - {"criteria", "actions"}):
        _compare(found, key, old.get(key, ABSENT), new.get(key, ABSENT))
    for kind, items, known_by, shown_as in _ITEMS:
        _compare_items(found, kind, old.get(items, []), new.get(items, []), known_by, shown_as)
    if not found and recorded != replayed:
        found.append(FieldDifference("canonical JSON", recorded, replayed))
    return tuple(found)


_ITEMS: tuple[tuple[str, str, Callable[[Any], str], Callable[[Any], str]], ...] = (
    # By number: a criterion renamed is the same criterion, with its name changed.
    ("criterion", "criteria", lambda c: str(c["number"]), lambda c: f"{c['number']} ({c['name']})"),
    ("action", "actions", lambda a: str(a["action"]), lambda a: str(a["action"])),
)
"""Each list of an outcome compared item by item: what an item is called, the list, how an
item is known on both sides, how it is shown."""


def _text(value: Any) -> str:
    if value is ABSENT or isinstance(value, str):
        return str(value)
    # JSON, not str(): true and 1, or 60 and 60.0, are equal in Python but not in the record.
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _compare(found: list[FieldDifference], name: str, old: Any, new: Any) -> None:
    if _text(old) != _text(new):
        found.append(FieldDifference(name, _text(old), _text(new)))


def _compare_items(
    found: list[FieldDifference],
    kind: str,
    old: Sequence[dict[str, Any]],
    new: Sequence[dict[str, Any]],
    key: Callable[[dict[str, Any]], str],
    label: Callable[[dict[str, Any]], str],
) -> None:
    old_names = [key(item) for item in old]
    new_names = [key(item) for item in new]
    old_keyed = dict(zip(old_names, old, strict=True))
    new_keyed = dict(zip(new_names, new, strict=True))
    for name in dict.fromkeys([*old_keyed, *new_keyed]):
        before, after = old_keyed.get(name), new_keyed.get(name)
        shown = f"{kind} {label(before if before is not None else new_keyed[name])}"
        if before is None or after is None:
            _compare(found, shown, before or ABSENT, after or ABSENT)
            continue
        for part in sorted(set(before) | set(after)):
            _compare(found, f"{shown}.{part}", before.get(part, ABSENT), after.get(part, ABSENT))
    # The same items in another order (or one of them twice) are other bytes all the same.
    in_both = set(old_names) & set(new_names)
    if [n for n in old_names if n in in_both] != [n for n in new_names if n in in_both]:
        _compare(
            found,
            f"order of {kind}s",
            ", ".join(label(i) for i in old),
            ", ".join(label(i) for i in new),
        )
