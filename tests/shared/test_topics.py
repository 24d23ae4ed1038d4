"""A class that moved still loads, and is still found, under the topic it was stored under."""

from __future__ import annotations

from eventsourcing.utils import get_topic, resolve_topic

from shared.topics import moved, topics_of


class Moved:
    """Invented: a class whose events were stored under another module's name."""


class Stayed:
    """Invented: a class that never moved."""


def test_an_old_topic_resolves_to_the_class_and_is_listed_after_its_own() -> None:
    moved("tests.shared.old_place:Moved", Moved)
    moved("tests.shared.old_place:Moved", Moved)  # registering twice lists it once
    assert resolve_topic("tests.shared.old_place:Moved") is Moved
    assert topics_of(Moved, Stayed) == (
        get_topic(Moved),
        "tests.shared.old_place:Moved",
        get_topic(Stayed),
    )
