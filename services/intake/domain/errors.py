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
    "AgencyInvolvedError",
    "CustodyError",
    "IntakeError",
    "NeedsReasonError",
    "ViewingRefusedError",
    "check_occurred_before_recorded",
]


class IntakeError(EntryError):
    """A request that breaks an intake rule; the message says which."""


class ViewingRefusedError(IntakeError):
    """A viewing of the image that the protocol does not allow; the message names the rule."""


class CustodyError(IntakeError):
    """A custody entry that does not follow from the device's chain so far."""


class AgencyInvolvedError(IntakeError):
    """Asking young people to delete copies once another agency is involved: the copies may
    be evidence, and deleting them is that agency's decision."""
