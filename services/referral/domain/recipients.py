"""Which notices a referral's new events call for: an action newly required by an assessment,
or escalated, gets one notice to each recipient of the trust that asked for it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime

from services.referral.domain import Action, Referral
from services.referral.domain.notices import (
    ACTION_OVERDUE,
    ACTION_REQUIRED,
    Notice,
    notice_content,
)
from shared.trust import Recipient, Trust


def notices_called_for(
    trust: Trust, aggregates: Iterable[object], events: Sequence[object], now: datetime
) -> list[Notice]:
    """The notices ``events``, about to be written with their ``aggregates``, call for: one
    per recipient and cause."""
    notices: list[Notice] = []
    for referral in aggregates:
        if not isinstance(referral, Referral):
            continue
        for e in events:
            if not isinstance(e, Referral.Event) or e.originator_id != referral.id:
                continue
            if isinstance(e, Referral.AssessmentRecorded):
                for action in referral.actions.values():
                    if action.outstanding and action.opened_by == e.number:
                        cause = f"assessment:{e.number}"
                        notices += notices_for(trust, referral, action, cause, now)
            elif isinstance(e, Referral.ActionEscalated):
                action = referral.actions[e.action]
                cause = f"escalation:{e.originator_version}"
                notices += notices_for(trust, referral, action, cause, now, escalated_to=e.to)
    return notices


def notices_for(
    trust: Trust,
    referral: Referral,
    action: Action,
    cause: str,
    now: datetime,
    escalated_to: str = "",
) -> Iterator[Notice]:
    school = trust.school(referral.school)
    for recipient in recipients_for(trust, referral.school, action, escalated_to):
        content = notice_content(
            ACTION_OVERDUE if escalated_to else ACTION_REQUIRED,
            reference=referral.reference,
            school=referral.school,
            school_name=school.name if school else referral.school,
            action=action,
            link=trust.case_link(referral.id),
            escalated_to=escalated_to,
        )
        yield Notice(
            case_id=referral.id,
            action=action.action,
            cause=cause,
            recipient=recipient.name,
            channel=recipient.channel,
            destination=recipient.destination,
            secret_setting=recipient.secret_setting,
            content=content,
            created_at=now,
        )


def recipients_for(trust: Trust, school: str, action: Action, escalated_to: str) -> list[Recipient]:
    """Recipients of the school's notices about ``action``: at its level, or (for an
    escalation) escalated to whom they asked to hear about."""
    return [
        r
        for r in trust.recipients
        if r.wants(school, action.action)
        and (escalated_to in r.escalations if escalated_to else action.level in r.levels)
    ]
