"""Intake's rule errors."""

from __future__ import annotations

from datetime import datetime, timedelta

CLOCK_SKEW = timedelta(minutes=5)
"""How far ahead of the server a school computer's clock may run: its "now" is not refused as
the future. Beyond that, an occurred_at later than its recording is a mistake."""


class IntakeError(ValueError):
    """A request that breaks an intake rule; the message says which."""


class NeedsReasonError(IntakeError):
    """A correction of an earlier entry without the reason for it."""


def check_occurred_before_recorded(occurred_at: datetime, recorded_at: datetime) -> None:
    if occurred_at.tzinfo is None:
        msg = "occurred_at needs a time zone"
        raise IntakeError(msg)
    if occurred_at > recorded_at + CLOCK_SKEW:
        msg = "occurred_at is later than the time it was recorded"
        raise IntakeError(msg)
