"""Referral's background work: send each notice that is due, and escalate each action whose
deadline lapsed. The runtime starts :func:`run_followups` with the service.

Each attempt is recorded (``AttemptStarted``, saved) before anything is sent, and its outcome
after, so a crash in between leaves an attempt with no outcome: once its lease runs out it is
recorded as lost and the notice is sent again, with the same idempotency key. Two processes on
one store cannot both record the same attempt (the notice's version collides), so at most one
sends it; nor the same escalation.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import Executor
from datetime import timedelta
from functools import partial
from typing import TypeVar
from uuid import UUID

import httpx

from services.referral.adapters.delivery import DeliveryError, Sender, SmtpSender, WebhookSender
from services.referral.application import Referrals
from services.referral.domain.notices import RetryPolicy
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from shared.supervisor import Work

log = logging.getLogger(__name__)

T = TypeVar("T")
CONCURRENT_SENDS = 8


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=settings.delivery_max_attempts,
        first_backoff=timedelta(seconds=settings.delivery_backoff_seconds),
        max_backoff=timedelta(seconds=settings.delivery_backoff_max_seconds),
        lease=timedelta(seconds=2 * settings.delivery_timeout_seconds),
    )


class FollowUps:
    """Sends due notices and escalates overdue actions, one pass at a time."""

    def __init__(
        self,
        app: Referrals,
        senders: Mapping[str, Sender],
        retry: RetryPolicy,
        *,
        poll_seconds: float = 5.0,
        executor: Executor | None = None,
    ) -> None:
        self.app = app
        self.senders = senders
        self.retry = retry
        self.poll_seconds = poll_seconds
        self.executor = executor
        self._limit = asyncio.Semaphore(CONCURRENT_SENDS)

    async def _store(self, call: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.executor, call)

    async def run_once(self) -> None:
        """Escalate what is overdue, then attempt every notice that is due."""
        await self.escalate()
        await self.deliver_due()

    async def escalate(self) -> None:
        """Escalate each action whose deadline lapsed (the deadlines worker's pass)."""
        for escalated in await self._store(self.app.escalate_overdue):
            log.warning(
                "referral: %s of case %s overdue since %s: escalated to the %s",
                escalated.action,
                escalated.originator_id,
                escalated.due_at.isoformat(),
                escalated.to,
            )

    async def deliver_due(self) -> None:
        """Attempt every notice that is due (the deliveries worker's pass)."""
        due = await self._store(self.app.notices_due)
        await asyncio.gather(*(self.deliver(notice_id) for notice_id in due))

    async def deliver(self, notice_id: UUID) -> None:
        """One attempt at one notice, recorded before it is sent and concluded after."""
        async with self._limit:
            dispatch = await self._store(partial(self.app.start_attempt, notice_id, self.retry))
            if dispatch is None:
                return
            sender = self.senders[dispatch.channel]
            try:
                receipt = await sender.send(dispatch)
            except DeliveryError as e:
                notice = await self._store(
                    partial(self.app.record_outcome, dispatch, self.retry, error=str(e))
                )
                level = logging.ERROR if notice.gave_up_at else logging.WARNING
                log.log(
                    level,
                    "referral: notice %s attempt %d: %s%s",
                    notice_id,
                    dispatch.attempt,
                    e,
                    " (given up)" if notice.gave_up_at else "",
                )
                return
            await self._store(
                partial(self.app.record_outcome, dispatch, self.retry, receipt=receipt)
            )

    async def run(
        self, work: Work | None = None, one_pass: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        """Forever: ``one_pass`` (default: :meth:`run_once`) on every commit of this process,
        and every ``poll_seconds``; ``work`` says whether the passes succeed."""
        work = work or Work()
        one_pass = one_pass or self.run_once
        wakeup = asyncio.Event()
        loop = asyncio.get_running_loop()

        def wake() -> None:
            # After the loop has closed, the next start picks the work up.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(wakeup.set)

        self.app.add_listener(wake)
        while True:
            wakeup.clear()
            try:
                await one_pass()
            except Exception as e:
                # The store may be down: nothing was lost (attempts are recorded first), so
                # log it and try again on the next pass; /readyz counts how long it lasts.
                work.failed(f"{type(e).__name__}: {e}", None)
                log.exception("referral: follow-ups failed; trying again")
            else:
                work.moved(0)
            # asyncio.timeout, not wait_for: Python 3.11's wait_for loses a cancellation that
            # comes as the wakeup does (CPython gh-86296), and stopping the service then hangs.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_seconds):
                    await wakeup.wait()


def senders_for(settings: Settings, client: httpx.AsyncClient) -> dict[str, Sender]:
    return {
        "email": SmtpSender.from_settings(settings),
        "webhook": WebhookSender(client, timeout=settings.delivery_timeout_seconds),
    }


def _followups(runtime: ServiceRuntime, senders: Mapping[str, Sender]) -> FollowUps:
    app = runtime.app
    assert isinstance(app, Referrals)
    return FollowUps(
        app,
        senders,
        retry_policy(runtime.settings),
        poll_seconds=runtime.settings.followup_poll_seconds,
        executor=runtime.store_executor,
    )


async def run_deadlines(runtime: ServiceRuntime, work: Work) -> None:
    """Referral's deadlines worker: escalates each action whose deadline lapsed."""
    followups = _followups(runtime, {})
    await followups.run(work, followups.escalate)


async def run_deliveries(runtime: ServiceRuntime, work: Work) -> None:
    """Referral's deliveries worker: sends each notice that is due, by email or webhook."""
    app = runtime.app
    assert isinstance(app, Referrals)
    for recipient in app.trust.recipients:
        if (
            recipient.enabled
            and recipient.secret_setting
            and not os.environ.get(recipient.secret_setting)
        ):
            log.warning(
                "referral: recipient %s: %s is not set; its webhooks will fail",
                recipient.name,
                recipient.secret_setting,
            )
    async with httpx.AsyncClient() as client:
        followups = _followups(runtime, senders_for(runtime.settings, client))
        await followups.run(work, followups.deliver_due)


BACKGROUND = (("deadlines", run_deadlines), ("deliveries", run_deliveries))
"""Referral's background work, as its :class:`ServiceSpec` names it."""
