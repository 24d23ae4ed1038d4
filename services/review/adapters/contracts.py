"""Review publishes nothing yet: its events are private to it."""

from __future__ import annotations

from shared.contracts import Contract


def to_contract(domain_event: object) -> Contract | None:
    """Review's events stay in its own store until a later step publishes some."""
    del domain_event
    return None
