"""The referral application: reassesses each case whenever its facts change (intake's triage and
young people, the DSL's risk assessment), records the DSL's decisions (steps 5 and 6), escalates
actions whose deadline lapsed, and keeps the notices it sends itself to the trust's recipients
(the sending is :mod:`services.referral.adapters.delivery`'s; every attempt and outcome is
recorded here). :mod:`.pending` is what it still has to follow up."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import singledispatchmethod
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, ProcessingEvent
from eventsourcing.persistence import IntegrityError, Recording
from eventsourcing.utils import get_topic

from services.referral.application.pending import OutstandingAction, PendingIndex
from services.referral.domain import Referral, RiskAssessed
from services.referral.domain.notices import Dispatch, Notice, RetryPolicy
from services.referral.domain.recipients import notices_called_for
from services.referral.policy import POLICIES, CaseFacts, UnknownPolicyVersionError, assess
from shared.application import Clock, ServiceApplication
from shared.contracts.intake import (
    IncidentReportedV1,
    TriageRecordedV1,
    TriageRecordedV2,
    YoungPersonRecordedV1,
)
from shared.contracts.streams import message_id
from shared.entries import CaseEntry
from shared.trust import Trust, load_trust

SYSTEM_ACTOR = "referral-service"
A = TypeVar("A")
TRUST_FILE_KEY = "SAFEGUARD_TRUST_FILE"
"""The application's env names the trust file (the runtime puts the setting there)."""


class ReferralNotFoundError(LookupError):
    """No referral record has that case id."""


class NoticeNotFoundError(LookupError):
    """No notice has that id."""


def triage_facts(contract: TriageRecordedV1 | TriageRecordedV2) -> dict[str, Any]:
    """A triage entry's answers, as the facts a policy reads: the questions its version asked
    (a V1 entry's ``acts_unusual_or_violent`` as given; each policy version says what it
    means)."""
    answers: dict[str, Any] = {
        q: list(v) if isinstance(v, tuple) else v
        for q in contract.question_fields()
        for v in [getattr(contract, q)]
    }
    answers["image_location_kinds"] = sorted({loc.kind for loc in contract.image_locations})
    return answers


def young_person_facts(contract: YoungPersonRecordedV1) -> dict[str, Any]:
    return {
        "pseudonym": contract.pseudonym,
        "age": contract.age,
        "year_group": contract.year_group,
        "sex": contract.sex,
        "vulnerabilities": sorted(contract.vulnerabilities),
        "roles": sorted(contract.roles),
    }


class Referrals(ServiceApplication):
    """Applies intake's events: each change of facts gets an assessment entry, under the
    policy version the trust has in force; an action it newly requires (and an escalation)
    gets a notice to each recipient of the trust that wants it, in the same transaction."""

    name = "referral"
    case_opened = Referral.Opened

    def __init__(
        self,
        env: dict[str, str] | None = None,
        clock: Clock | None = None,
        policy_version: str | None = None,
        trust: Trust | None = None,
    ) -> None:
        super().__init__(env, clock)
        trust_file = self.env.get(TRUST_FILE_KEY)
        self.trust = trust or load_trust(Path(trust_file) if trust_file else None)
        self.policy_version = policy_version or self.trust.policy_version
        if self.policy_version not in POLICIES:
            msg = (
                f"policy version {self.policy_version} (from the trust {self.trust.name}) is "
                f"not in this build, which has {', '.join(POLICIES)}"
            )
            raise UnknownPolicyVersionError(msg)
        self.pending = PendingIndex(self.recorder, self.repository.get)

    @singledispatchmethod
    def on_upstream(self, contract: Any, processing_event: ProcessingEvent[UUID]) -> None:
        """Contracts referral does not act on."""

    @on_upstream.register
    def _(self, contract: IncidentReportedV1, processing_event: ProcessingEvent[UUID]) -> None:
        referral = Referral(
            id=contract.case_id, school=contract.school, reference=contract.reference
        )
        facts = {"disclosure_route": str(contract.disclosure_route), "young_people": []}
        self._reassess(referral, facts, self._caused_by(processing_event))
        processing_event.collect_events(referral)

    @on_upstream.register(TriageRecordedV1)
    @on_upstream.register(TriageRecordedV2)
    def _(
        self,
        contract: TriageRecordedV1 | TriageRecordedV2,
        processing_event: ProcessingEvent[UUID],
    ) -> None:
        referral = self.get_referral(contract.case_id)
        facts = {**referral.facts.data, "triage": triage_facts(contract)}
        self._reassess(referral, facts, self._caused_by(processing_event))
        processing_event.collect_events(referral)

    @on_upstream.register
    def _(self, contract: YoungPersonRecordedV1, processing_event: ProcessingEvent[UUID]) -> None:
        referral = self.get_referral(contract.case_id)
        people = {p["pseudonym"]: p for p in referral.facts.young_people()}
        people[contract.pseudonym] = young_person_facts(contract)
        facts = {**referral.facts.data, "young_people": [people[k] for k in sorted(people)]}
        self._reassess(referral, facts, self._caused_by(processing_event))
        processing_event.collect_events(referral)

    @staticmethod
    def _caused_by(processing_event: ProcessingEvent[UUID]) -> str:
        assert processing_event.tracking is not None
        return message_id("intake", processing_event.tracking.notification_id)

    def _reassess(self, referral: Referral, facts: dict[str, Any], caused_by: str) -> None:
        """Record the next assessment, of ``facts``, caused by ``caused_by``."""
        case_facts = CaseFacts.of(facts)
        referral.record_assessment(
            case_facts,
            assess(case_facts, self.policy_version),
            caused_by,
            SYSTEM_ACTOR,
            self.clock(),
        )

    def get_case(self, case_id: UUID) -> Referral:
        return self.get_referral(case_id)

    def follows(self, kind: type[CaseEntry]) -> Callable[[Any], None] | None:
        """A risk assessment reassesses the case, in the same transaction."""
        return self._reassess_with_risk if kind is RiskAssessed else None

    def _reassess_with_risk(self, referral: Referral) -> None:
        risk = referral.risk_assessments[-1]
        facts = {
            **referral.facts.data,
            "risk_assessment": {**risk.factors, "conclusion": risk.conclusion},
        }
        self._reassess(
            referral, facts, f"referral:risk_assessment:{len(referral.risk_assessments)}"
        )

    # Notices: made in the same transaction as the event that calls for them, on both paths
    # that write a case: policy() for intake's facts, save() for a DSL's entry or an
    # escalation. So no path stores an assessment that newly requires an action without its
    # notices, or a notice without its assessment.

    def policy(self, domain_event: Any, processing_event: ProcessingEvent[UUID]) -> None:
        """Apply an upstream contract, with the notices what it recorded calls for."""
        super().policy(domain_event, processing_event)
        processing_event.collect_events(
            *notices_called_for(
                self.trust,
                list(processing_event.aggregates.values()),
                processing_event.events,
                self.clock(),
            )
        )

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        """Save, with the notices the new events call for, in one transaction."""
        events = [e for obj in objs if isinstance(obj, Referral) for e in obj.pending_events]
        notices = notices_called_for(self.trust, objs, events, self.clock())
        return super().save(*objs, *notices, **kwargs)

    # Delivery: the worker (services.referral.entrypoint.followups) records each attempt
    # before sending.

    def notices_due(self, now: datetime | None = None) -> list[UUID]:
        """Notices due an attempt now (or whose attempt was lost), oldest first."""
        return self.pending.notices_due(now or self.clock())

    def start_attempt(self, notice_id: UUID, retry: RetryPolicy) -> Dispatch | None:
        """Record the next attempt at a notice, before it is sent: what to send, or None when
        none is due (delivered, given up, not yet time, or another process took it)."""
        notice = self.get_notice(notice_id)
        started = notice.start_attempt(self.clock(), retry)
        if not notice.pending_events:
            return None
        try:
            self.save(notice)
        except IntegrityError:
            return None  # another process recorded this attempt first: it sends it
        return notice.dispatch() if started else None

    def record_outcome(
        self, dispatch: Dispatch, retry: RetryPolicy, *, error: str = "", receipt: str = ""
    ) -> Notice:
        """Record how an attempt went: delivered, or failed (retried after a backoff, or
        given up after the last attempt)."""
        for tries_left in reversed(range(3)):
            notice = self.get_notice(dispatch.notice_id)
            if error:
                notice.record_failure(dispatch.attempt, self.clock(), error, retry)
            else:
                notice.record_delivery(dispatch.attempt, self.clock(), receipt)
            try:
                self.save(notice)
            except IntegrityError:
                if not tries_left:
                    raise
                continue  # another process concluded a lost attempt meanwhile: read again
            return notice
        raise AssertionError  # unreachable: the last try returns or raises

    def get_notice(self, notice_id: UUID) -> Notice:
        return self._get(notice_id, Notice, NoticeNotFoundError)

    def health(self) -> dict[str, Any]:
        """Overdue actions, and notices given up on: both need a person."""
        gave_up = self.recorder.select_notifications(
            start=None, limit=10_000, topics=(get_topic(Notice.GaveUp),)
        )
        return {
            "overdue_actions": len(self.overdue_actions()),
            "notices_given_up": len(gave_up),
        }

    def notices_of(self, case_id: UUID) -> list[Notice]:
        """Every notice of a case, oldest first. Reads every notice ever created: for
        inspection and tests, not for a request path."""
        created = self.recorder.select_notifications(
            start=None, limit=1_000_000, topics=(get_topic(Notice.Created),)
        )
        notices = [self.get_notice(UUID(str(n.originator_id))) for n in created]
        return [n for n in notices if n.case_id == case_id]

    # Deadlines.

    def overdue_actions(
        self, school: str | None = None, now: datetime | None = None
    ) -> list[OutstandingAction]:
        """Actions past their deadline and still outstanding, of one school or (None) across
        the trust, the longest overdue first, each with whom it was escalated to."""
        at = now or self.clock()
        overdue = [
            a
            for a in self.pending.outstanding()
            if a.overdue(at) and (school is None or a.school == school)
        ]
        return sorted(overdue, key=lambda a: (a.due_at, a.reference, a.action))

    def escalate_overdue(self, now: datetime | None = None) -> list[Referral.ActionEscalated]:
        """Escalate each overdue action (to the DSL, then the head), each step exactly once:
        the step is decided on the case as stored, and two processes saving the same step
        collide on the case's version, so only one is recorded."""
        at = now or self.clock()
        recorded: list[Referral.ActionEscalated] = []
        due = {a.case_id for a in self.pending.outstanding() if a.escalation_due(at)}
        for case_id in sorted(due):
            referral = self.get_referral(case_id)
            referral.escalate_overdue(at)
            events = [e for e in referral.pending_events if isinstance(e, Referral.ActionEscalated)]
            if not events:
                continue
            try:
                self.save(referral)
            except IntegrityError:
                continue  # changed meanwhile (a decision, or another process): next round
            recorded += events
        return recorded

    def get_referral(self, case_id: UUID) -> Referral:
        return self._get(case_id, Referral, ReferralNotFoundError)

    def _get(self, aggregate_id: UUID, kind: type[A], missing: type[LookupError]) -> A:
        """The aggregate of ``kind`` with that id, or ``missing``: none, or not a ``kind``."""
        try:
            found: object = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise missing(aggregate_id) from None
        if not isinstance(found, kind):
            raise missing(aggregate_id)
        return found
