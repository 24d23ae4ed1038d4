"""Intake's rule errors."""

from __future__ import annotations

from shared.entries import (
    CLOCK_SKEW,
    EntryError,
    NeedsReasonError,
    check_occurred_before_recorded,
)

__all__ = [
    "CLOCK_SKEW",
    "IntakeError",
    "NeedsReasonError",
    "check_occurred_before_recorded",
]


class IntakeError(EntryError):
    """A request that breaks an intake rule; the message says which."""
