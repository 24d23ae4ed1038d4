"""Every read of a case is an entry of its chronology (who, role, when, what); a read, and an
entry sent over HTTP, survive a consumer appending to the same case at the same moment."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from services.review.application import ATTEMPTS, Reviews
from services.review.domain.access_log import CaseRead
from services.review.domain.containment import StaffInformed
from shared.application import CaseChangedError
from tests.conftest import StoreChoice
from tests.review.story import T0, Story, action, minutes

NOW = T0 + minutes(300)
STAFF_TOLD = {"staff": "Year 9 tutors", "what_and_why": "Invented: to watch for comments"}


def a_case(reviews: Reviews) -> Story:
    reviews.clock = lambda: NOW
    return Story(reviews).disclosure(T0).assessed(T0 + minutes(1), action("parents_or_carers"))


def test_a_read_is_recorded_with_who_role_when_and_what() -> None:
    story = a_case(Reviews())
    reviews = story.reviews
    reviews.record_read(story.case_id, user="dsl.oak", role="dsl", what="case_view")
    reviews.record_read(
        story.case_id,
        user="auditor.trust",
        role="auditor",
        what="chronology",
        as_of=T0 + minutes(1),
        at=NOW,
    )
    view = reviews.case_view(story.case_id)
    assert [(r.actor, r.actor_role, r.recorded_at, r.facts["what"]) for r in view.reads] == [
        ("dsl.oak", "dsl", NOW, "case_view"),
        ("auditor.trust", "auditor", NOW, "chronology"),
    ]
    assert view.reads[1].facts["as_of"] == (T0 + minutes(1)).isoformat()
    # Reads are in the chronology and its hash chain, and not in the case's facts.
    record = reviews.get_case(story.case_id)
    assert [e.kind for e in record.chronology()][-2:] == [CaseRead.KIND, CaseRead.KIND]
    assert record.entries[-1].summary.startswith("chronology read, as it stood at")
    assert CaseRead.KIND not in [e.kind for e in view.entries]
    assert reviews.verify(story.case_id) is None
    # ... and not in the version If-Match is checked against.
    assert view.version == 2


def consumer_appends_during(reviews: Reviews, story: Story, times: int) -> Callable[..., Any]:
    """Make the next ``times`` saves find the consumer has appended to the case meanwhile."""
    real_save = reviews.save
    left = [times]

    def save(*aggregates: Any, **kw: Any) -> Any:
        if left[0] > 0:
            left[0] -= 1
            story.dsl(f"dsl.{left[0]}", T0 + minutes(10))
        return real_save(*aggregates, **kw)

    return save


def test_a_read_is_retried_when_the_consumer_appends_at_the_same_moment(
    store: StoreChoice, monkeypatch: pytest.MonkeyPatch
) -> None:
    reviews = Reviews(store.env("review"))
    story = a_case(reviews)
    monkeypatch.setattr(reviews, "save", consumer_appends_during(reviews, story, 3))
    record = reviews.record_read(story.case_id, user="auditor.trust", role="auditor", what="x")
    assert [e.kind for e in record.entries][-4:] == [
        "dsl_assigned",
        "dsl_assigned",
        "dsl_assigned",
        CaseRead.KIND,
    ]
    assert reviews.verify(story.case_id) is None
    reviews.close()


def test_an_entry_sent_is_retried_unless_the_case_moved_past_what_was_read(
    store: StoreChoice, monkeypatch: pytest.MonkeyPatch
) -> None:
    reviews = Reviews(store.env("review"))
    story = a_case(reviews)
    read_at = reviews.case_view(story.case_id).version
    monkeypatch.setattr(reviews, "save", consumer_appends_during(reviews, story, 1))
    with pytest.raises(CaseChangedError, match=f"not {read_at}"):
        reviews.record_step(
            story.case_id,
            StaffInformed.KIND,
            STAFF_TOLD,
            recorded_by="dsl.oak",
            recorded_by_role="dsl",
            expected_version=read_at,
        )
    # Without If-Match, the entry follows whatever the consumer appended.
    monkeypatch.setattr(reviews, "save", consumer_appends_during(reviews, story, 2))
    entry, record, created = reviews.record_step(
        story.case_id, StaffInformed.KIND, STAFF_TOLD, recorded_by="dsl.oak", recorded_by_role="dsl"
    )
    assert created
    assert entry is record.entries[-1]
    assert entry.kind == StaffInformed.KIND
    assert reviews.verify(story.case_id) is None
    reviews.close()


def test_a_case_that_never_stops_changing_is_refused_after_a_few_attempts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reviews = Reviews()
    story = a_case(reviews)
    monkeypatch.setattr(reviews, "save", consumer_appends_during(reviews, story, ATTEMPTS))
    with pytest.raises(CaseChangedError, match="kept changing"):
        reviews.record_step(
            story.case_id,
            StaffInformed.KIND,
            STAFF_TOLD,
            recorded_by="dsl.oak",
            recorded_by_role="dsl",
        )
    assert StaffInformed.KIND not in [e.kind for e in reviews.get_case(story.case_id).entries]


def test_a_read_as_of_a_moment_sees_the_reads_made_by_then() -> None:
    reviews = Reviews()
    story = a_case(reviews)
    moments: list[datetime] = [NOW, NOW + minutes(10)]
    for n, at in enumerate(moments):
        reviews.clock = lambda at=at: at  # type: ignore[misc]
        reviews.record_read(story.case_id, user=f"reader.{n}", role="dsl", what="case_view")
    then = reviews.case_view(story.case_id, as_of=NOW + minutes(5))
    assert [r.actor for r in then.reads] == ["reader.0"]
