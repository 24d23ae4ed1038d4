"""Comparing the rebuild with the live store, case by case (see :mod:`ops.rebuild`
for what "the same" means)."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast
from uuid import UUID

from eventsourcing.utils import get_topic

from services.review.application import Reviews
from services.review.domain import OWN_SUBJECT_PREFIX, CaseRecord
from services.review.domain.case_view import fold
from services.review.domain.chain import verify


@dataclass(frozen=True)
class CaseDifference:
    """A case that differs, and how, in words that carry no personal data."""

    case_id: UUID
    reference: str
    problem: str


@dataclass
class Comparison:
    cases: int = 0
    differences: list[CaseDifference] = field(default_factory=list)
    left_out_live: int = 0
    """Live entries left out: applied or recorded after the rebuild read its streams."""
    left_out_rebuilt: int = 0
    """Rebuilt entries left out: the live store has not applied them yet."""
    positions: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Each upstream's position in the live store and in the rebuild."""


EntryKey = tuple[str, str, str, str, datetime, datetime, str, str]


def entry_key(entry: CaseRecord.EntryRecorded) -> EntryKey:
    """Everything an entry says, and not where it stands in its chain."""
    return (
        entry.kind,
        entry.summary,
        entry.actor,
        entry.actor_role,
        entry.occurred_at,
        entry.recorded_at,
        entry.subject,
        entry.payload,
    )


@dataclass
class _Case:
    school: str
    reference: str
    entries: list[CaseRecord.EntryRecorded]


def _load(app: Reviews, case_id: UUID) -> _Case | None:
    """A case from its stored events (no cache, no snapshot), in stored order."""
    school = reference = ""
    entries = []
    for event in app.repository.event_store.get(case_id):
        if isinstance(event, CaseRecord.Opened):
            school, reference = event.school, event.reference
        elif isinstance(event, CaseRecord.EntryRecorded):
            entries.append(event)
    return _Case(school, reference, entries) if school or entries else None


def _school_members(app: Reviews) -> set[UUID]:
    return {c for school in app.schools() for c in app.school_case_ids(school)}


def _unpublished_own_entries(live: Reviews, review_head: int) -> set[tuple[UUID, int]]:
    """The live own entries stored after the REVIEW stream's last message (its position is the
    live store's notification id): not yet published, so no rebuild can have them."""
    found: set[tuple[UUID, int]] = set()
    topic = get_topic(CaseRecord.EntryRecorded)
    start = review_head
    while page := live.recorder.select_notifications(
        start=start, limit=1000, topics=(topic,), inclusive_of_start=False
    ):
        for notification in page:
            entry = cast("CaseRecord.EntryRecorded", live.mapper.to_domain_event(notification))
            if entry.subject.startswith(OWN_SUBJECT_PREFIX):
                found.add((UUID(str(notification.originator_id)), notification.originator_version))
        start = page[-1].id
    return found


def _upstream_position(entry: CaseRecord.EntryRecorded) -> tuple[str, int] | None:
    if entry.subject.startswith(OWN_SUBJECT_PREFIX):
        return None
    producer, _, position = entry.source.partition(":")
    return (producer, int(position)) if position.isdigit() else None


def compare(
    live: Reviews,
    rebuilt: Reviews,
    review_head: int,
    on_case: Callable[[], None] | None = None,
) -> Comparison:
    """Compare every case of the two stores (see the module's docstring for "the same");
    ``review_head`` is the position of the REVIEW stream's last message the rebuild read."""
    comparison = Comparison()
    for upstream in ("intake", "referral"):
        comparison.positions[upstream] = (
            live.recorder.max_tracking_id(upstream) or 0,
            rebuilt.recorder.max_tracking_id(upstream) or 0,
        )
    common = {u: min(p) for u, p in comparison.positions.items()}
    unpublished = _unpublished_own_entries(live, review_head)

    def kept(entries: list[CaseRecord.EntryRecorded], side: int) -> list[CaseRecord.EntryRecorded]:
        """The entries both stores should hold, given how far each has got."""
        out = []
        for entry in entries:
            upstream = _upstream_position(entry)
            if upstream is not None and upstream[0] in common:
                producer, position = upstream
                if common[producer] < position <= comparison.positions[producer][side]:
                    continue
            elif side == 0 and (entry.originator_id, entry.originator_version) in unpublished:
                continue
            out.append(entry)
        return out

    live_index, rebuilt_index = _school_members(live), _school_members(rebuilt)
    now = datetime.now(UTC)
    for case_id in dict.fromkeys([*live.case_ids(), *rebuilt.case_ids()]):
        if on_case is not None:
            on_case()
        live_case, rebuilt_case = _load(live, case_id), _load(rebuilt, case_id)
        live_entries = kept(live_case.entries, 0) if live_case else []
        rebuilt_entries = kept(rebuilt_case.entries, 1) if rebuilt_case else []
        comparison.left_out_live += (len(live_case.entries) if live_case else 0) - len(live_entries)
        comparison.left_out_rebuilt += (len(rebuilt_case.entries) if rebuilt_case else 0) - len(
            rebuilt_entries
        )
        if not live_entries and not rebuilt_entries:
            continue  # opened after the rebuild read its streams, or not yet applied live
        comparison.cases += 1
        reference = (live_case or rebuilt_case or _Case("", "", [])).reference
        problem = _difference(
            case_id,
            live_case,
            rebuilt_case,
            live_entries,
            rebuilt_entries,
            (case_id in live_index, case_id in rebuilt_index),
            now,
        )
        if problem:
            comparison.differences.append(CaseDifference(case_id, reference, problem))
    return comparison


def _difference(
    case_id: UUID,
    live: _Case | None,
    rebuilt: _Case | None,
    live_entries: list[CaseRecord.EntryRecorded],
    rebuilt_entries: list[CaseRecord.EntryRecorded],
    indexed: tuple[bool, bool],
    now: datetime,
) -> str:
    """How a case differs, or "" if it does not."""
    if live is None:
        return "only in the rebuild"
    if rebuilt is None:
        return "only in the live store"
    if (live.school, live.reference) != (rebuilt.school, rebuilt.reference):
        return "its school or reference differs"
    broken = verify(vars(e) for e in rebuilt.entries)
    if broken is not None:
        return f"the rebuilt chain breaks at entry {broken.number}: {broken.problem}"
    live_keys, rebuilt_keys = (
        Counter(map(entry_key, live_entries)),
        Counter(map(entry_key, rebuilt_entries)),
    )
    if live_keys != rebuilt_keys:
        parts = [
            f"{sum(extra.values())} {'entry' if sum(extra.values()) == 1 else 'entries'} "
            f"only in the {side} ({_kinds(extra)})"
            for side, extra in (
                ("live store", live_keys - rebuilt_keys),
                ("rebuild", rebuilt_keys - live_keys),
            )
            if extra
        ]
        return "; ".join(parts)
    if indexed != (True, True):
        return f"not in its school's index in the {'live store' if not indexed[0] else 'rebuild'}"
    views = [
        _comparable(
            fold(entries, case_id=case_id, school=case.school, reference=case.reference, now=now)
        )
        for case, entries in ((live, live_entries), (rebuilt, rebuilt_entries))
    ]
    if views[0] != views[1]:
        fields = sorted(k for k in views[0] if views[0][k] != views[1].get(k))
        return f"its view differs ({', '.join(fields)})"
    return ""


def _kinds(keys: Counter[EntryKey]) -> str:
    """The kinds and times of entries: never their words, which may be personal data."""
    listed = [
        f"{k[0]} at {k[4]:%Y-%m-%d %H:%M:%S}" for k in sorted(keys.elements(), key=lambda k: k[4])
    ]
    return ", ".join(listed[:3]) + (f" and {len(listed) - 3} more" if len(listed) > 3 else "")


def _comparable(view: object) -> dict[str, Any]:
    """A view without the entries' numbers and sources (they depend on arrival order), its
    lists in a canonical order (entries at the same moment may have arrived either way)."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in ("number", "source")}
        if isinstance(value, list):
            items = [strip(v) for v in value]
            return sorted(items, key=lambda v: json.dumps(v, sort_keys=True, default=str))
        return value

    assert dataclasses.is_dataclass(view)
    assert not isinstance(view, type)
    return cast("dict[str, Any]", strip(dataclasses.asdict(view)))
