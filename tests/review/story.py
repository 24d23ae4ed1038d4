"""One invented case told to review as intake and referral publish it: golden contracts with
the times a test chooses, applied at the next position of their upstream.

Each assessment carries the actions' states referral would publish with it: the story keeps
the case's actions by referral's own rule, as referral does (a test may, review never does)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.persistence import Tracking

from services.referral.domain.actions import (
    Action,
    apply_assessment,
    canonical_states,
)
from services.referral.policy import Assessment, RequiredAction
from services.review.application import Reviews
from shared.actions import DECLINED, DONE
from shared.contracts import Contract, decode

GOLDEN = Path(__file__).parent.parent / "contracts" / "golden"
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
A_DAY = 24 * 60


def golden(subject: str, **changes: Any) -> Contract:
    """A golden sample of ``subject`` with ``changes``."""
    data = json.loads((GOLDEN / f"{subject}.json").read_text())
    data.update(changes)
    return decode(subject, json.dumps(data, default=str).encode())


def action(
    name: str, level: str = "required", minutes: int = A_DAY, *, declinable: bool = True
) -> dict[str, Any]:
    """An action an assessment asks for."""
    return {
        "action": name,
        "level": level,
        "why": f"invented: {name} {level}",
        "due_within_minutes": minutes,
        "declinable": declinable,
    }


class Story:
    """An invented case of ``school``: each method publishes one contract about it to review."""

    def __init__(
        self,
        reviews: Reviews | None = None,
        *,
        school: str = "OAK",
        reference: str = "OAK-2026-0007",
        case_id: UUID | None = None,
    ) -> None:
        self.reviews = reviews or Reviews()
        self.case_id = case_id or uuid4()
        self.school = school
        self.reference = reference
        self.assessments = 0
        self.actions: dict[str, Action] = {}
        """The case's actions as referral holds them."""

    def publish(
        self, subject: str, at: datetime, recorded_at: datetime | None = None, **changes: Any
    ) -> Contract:
        contract = golden(
            subject,
            case_id=str(self.case_id),
            school=self.school,
            reference=self.reference,
            occurred_at=at.isoformat(),
            recorded_at=(recorded_at or at).isoformat(),
            **changes,
        )
        upstream = type(contract).producer
        position = (self.reviews.recorder.max_tracking_id(upstream) or 0) + 1
        self.reviews.process_event(contract, Tracking(upstream, position))  # type: ignore[arg-type]
        return contract

    def disclosure(self, at: datetime = T0, recorded_at: datetime | None = None) -> Story:
        self.publish("intake.incident.reported.v1", at, recorded_at)
        return self

    def dsl(self, who: str, at: datetime) -> Story:
        self.publish("intake.dsl.assigned.v1", at, dsl=who)
        return self

    def assessed(
        self,
        at: datetime,
        *actions: dict[str, Any],
        classification: str = "experimental",
        subtype: str = "romantic",
        policy_version: str = "uk-2024.2",
    ) -> Story:
        self.assessments += 1
        asked = tuple(RequiredAction(**a) for a in actions)
        apply_assessment(
            self.actions,
            Assessment(classification, (), policy_version, actions=asked),
            at,
            self.assessments,
        )
        self.publish(
            "referral.assessment.recorded.v1",
            at,
            assessment_number=self.assessments,
            classification=classification,
            subtype=subtype if classification != "undetermined" else "",
            policy_version=policy_version,
            actions=list(actions),
            actions_after=json.loads(canonical_states(self.actions)),
        )
        return self

    def done(self, name: str, at: datetime) -> Story:
        self.publish("referral.action.completed.v1", at, action=name)
        if (held := self.actions.get(name)) is not None:  # referral refuses one it lacks
            held.status = DONE
        return self

    def declined(self, name: str, at: datetime, reason: str = "Invented reason") -> Story:
        self.publish("referral.action.declined.v1", at, action=name, reason=reason)
        if (held := self.actions.get(name)) is not None:
            held.status, held.decision = DECLINED, {"reason": reason}
        return self

    def overridden(self, at: datetime, classification: str, subtype: str) -> Story:
        self.publish(
            "referral.classification.overridden.v1",
            at,
            classification=classification,
            subtype=subtype,
        )
        return self


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)
