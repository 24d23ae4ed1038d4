"""What a policy version reads: the facts of a case as recorded, and what it answers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any

UNKNOWN = "unknown"
ADDED_LATER = ("classification_reason",)
"""Fields of :class:`Assessment` that outcomes recorded under uk-2024.1 and .2 do not have."""


@dataclass(frozen=True)
class CaseFacts:
    """The recorded facts of a case when it is assessed, as canonical JSON.

    The facts are kept as recorded (the latest triage's answers, the young people, the DSL's
    risk assessment), not as conclusions drawn from them: every conclusion is the policy
    version's, so that replaying a version over the same facts reproduces all of it.
    """

    canonical: str = "{}"

    @classmethod
    def of(cls, facts: Mapping[str, Any]) -> CaseFacts:
        return cls(json.dumps(facts, sort_keys=True, separators=(",", ":"), ensure_ascii=False))

    @cached_property
    def data(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.canonical)
        return loaded

    def triage(self, question: str) -> Any:
        """The latest triage's answer, ``unknown`` before any triage."""
        return self.data.get("triage", {}).get(question, UNKNOWN)

    def asked(self, question: str) -> bool:
        """Whether the latest triage asked ``question`` at all: one recorded before a question
        was added, or split in two, has no answer to it (not even ``unknown``)."""
        return question in self.data.get("triage", {})

    def risk(self, factor: str) -> Any:
        """A factor of the DSL's risk assessment (step 5), ``unknown`` before one."""
        return self.data.get("risk_assessment", {}).get(factor, UNKNOWN)

    def young_people(self) -> list[dict[str, Any]]:
        people: list[dict[str, Any]] = self.data.get("young_people", [])
        return people


@dataclass(frozen=True)
class Criterion:
    """One of the national guidance's five criteria for an immediate referral."""

    number: int
    name: str
    status: str  # met, not_met, unknown
    decided_by: tuple[str, ...]


@dataclass(frozen=True)
class RequiredAction:
    """What the policy requires (or recommends, or leaves to the DSL), why, and how soon."""

    action: str
    level: str  # required, recommended, dsl_decides
    why: str
    due_within_minutes: int
    declinable: bool


@dataclass(frozen=True)
class Assessment:
    """The outcome of one assessment under one policy version."""

    classification: str
    missing_facts: tuple[str, ...]
    policy_version: str
    subtype: str = ""
    criteria: tuple[Criterion, ...] = ()
    actions: tuple[RequiredAction, ...] = field(default=())
    classification_reason: str = ""
    """Why the case is classified so, naming the facts that decided it (from uk-2024.3 on)."""

    def canonical(self) -> str:
        """The assessment as canonical JSON: equal assessments give equal bytes.

        A field added after an earlier version is left out while it is empty, so that the
        outcomes recorded under that version replay to the same bytes."""
        data = asdict(self)
        for added in ADDED_LATER:
            if not data[added]:
                del data[added]
        return json.dumps(data, sort_keys=True, separators=(",", ":"))

    def criteria_met(self) -> tuple[Criterion, ...]:
        return tuple(c for c in self.criteria if c.status == "met")
