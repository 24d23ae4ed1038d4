"""Stored events name their class by topic (``module:QualName``). When a class moves, the events
stored under its old topic must still load, and still be found wherever notifications are
selected by topic (the relay, the reference index, a replay).

:func:`moved` registers the old topic with eventsourcing
(:func:`eventsourcing.utils.register_topic`) and remembers it, so that :func:`topics_of` gives
every topic a class has been stored under.
"""

from __future__ import annotations

from eventsourcing.utils import get_topic, register_topic

_OLD: dict[type, list[str]] = {}


def moved(old_topic: str, cls: type) -> None:
    """``cls`` was stored under ``old_topic`` before it moved: load those events as ``cls``."""
    register_topic(old_topic, cls)
    if old_topic not in _OLD.setdefault(cls, []):
        _OLD[cls].append(old_topic)


def topics_of(*classes: type) -> tuple[str, ...]:
    """Every topic events of ``classes`` are stored under: each one's own, then its old ones."""
    return tuple(topic for cls in classes for topic in (get_topic(cls), *_OLD.get(cls, ())))
