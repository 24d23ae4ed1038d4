"""Intake's rules, on the in-memory store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.intake.application import IncidentNotFoundError, Intake
from shared.entries import EntryError


def clock_at(*moments: datetime):  # type: ignore[no-untyped-def]
    it = iter(moments)
    return lambda: next(it)


def report(app: Intake, school: str = "OAK", **kw: object):  # type: ignore[no-untyped-def]
    values: dict[str, object] = {
        "school": school,
        "disclosure_route": "young_person",
        "summary": "Invented",
        "recorded_by": "staff.a",
        "recorded_by_role": "staff",
    }
    values.update(kw)
    return app.report_incident(**values)  # type: ignore[arg-type]


def test_references_are_numbered_per_school_and_year() -> None:
    app = Intake(
        clock=clock_at(*(datetime(2026, 11, 2, tzinfo=UTC),) * 3, datetime(2027, 1, 5, tzinfo=UTC))
    )
    refs = [
        report(app, "OAK")[0].reference,
        report(app, "ELM")[0].reference,
        report(app, "OAK")[0].reference,
        report(app, "OAK")[0].reference,
    ]
    assert refs == ["OAK-2026-0001", "ELM-2026-0001", "OAK-2026-0002", "OAK-2027-0001"]


def test_a_retry_with_the_same_idempotency_key_returns_the_first_case() -> None:
    app = Intake()
    first, created = report(app, idempotency_key="k-1")
    again, created_again = report(app, idempotency_key="k-1")
    other, _ = report(app, idempotency_key="k-2")
    assert created
    assert not created_again
    assert again.id == first.id
    assert again.summary == "Invented"
    assert other.id != first.id
    assert other.reference == "OAK-2026-0002"


def test_a_retry_sent_from_another_account_is_still_one_case() -> None:
    # A school's intake client may flush a queued disclosure under another member of staff.
    app = Intake()
    a, _ = report(app, idempotency_key="k")
    b, created = report(app, idempotency_key="k", recorded_by="staff.b")
    assert not created
    assert b.id == a.id
    assert b.recorded_by == "staff.a"
    other_school, created = report(app, school="ELM", idempotency_key="k")
    assert created
    assert other_school.id != a.id


def test_occurred_at_and_recorded_at_are_both_kept() -> None:
    now = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    app = Intake(clock=lambda: now)
    incident, _ = report(app, occurred_at=now - timedelta(days=2))
    stored = app.get_incident(incident.id)
    assert stored.occurred_at == now - timedelta(days=2)
    assert stored.recorded_at == now


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"disclosure_route": "rumour"}, "unknown disclosure route"),
        ({"occurred_at": datetime(2030, 1, 1, tzinfo=UTC)}, "later than the time it was recorded"),
        ({"occurred_at": datetime(2026, 1, 1)}, "needs a time zone"),
    ],
)
def test_bad_facts_are_refused_and_nothing_is_stored(
    changes: dict[str, object], message: str
) -> None:
    app = Intake()
    with pytest.raises(EntryError, match=message):
        report(app, **changes)
    assert app.recorder.max_notification_id() in (None, 0)


def test_unknown_case() -> None:
    from uuid import uuid4

    with pytest.raises(IncidentNotFoundError):
        Intake().get_incident(uuid4())


def test_the_reference_sequence_is_snapshotted_so_loading_it_stays_cheap() -> None:
    from services.intake.domain import ReferenceSequence

    app = Intake(clock=lambda: datetime(2026, 11, 24, tzinfo=UTC))
    incidents = [report(app)[0] for _ in range(120)]
    assert incidents[-1].reference == "OAK-2026-0120"
    assert app.snapshots is not None
    snapshots = list(app.snapshots.get(ReferenceSequence.create_id("OAK", 2026)))
    assert [s.originator_version for s in snapshots] == [50, 100]


def test_a_key_reused_for_another_disclosure_is_refused_not_merged() -> None:
    from services.intake.application import IdempotencyKeyReusedError

    app = Intake()
    first, _ = report(app, idempotency_key="k-1")
    with pytest.raises(IdempotencyKeyReusedError, match=first.reference):
        report(app, idempotency_key="k-1", summary="A different disclosure")
    with pytest.raises(IdempotencyKeyReusedError):
        report(app, idempotency_key="k-1", disclosure_route="peer")


def test_a_school_clock_a_little_ahead_is_not_refused() -> None:
    now = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    app = Intake(clock=lambda: now)
    incident, _ = report(app, occurred_at=now + timedelta(minutes=2))
    assert incident.occurred_at == now + timedelta(minutes=2)
    with pytest.raises(EntryError, match="later than"):
        report(app, occurred_at=now + timedelta(minutes=6))
