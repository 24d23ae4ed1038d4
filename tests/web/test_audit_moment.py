"""The auditor's moment, worked out without the services: the date and time typed in the trust's
own zone (summer time included, the hour the clocks change refused in words), the steps between
entries, corrections beside what they correct, and times shown as the trust reads them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.web.pages.auditor import local, moment_asked, steps, timeline

LONDON = ZoneInfo("Europe/London")
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def typed(day: str, month: str, year: str, hour: str, minute: str, second: str = "") -> Any:
    fields = {"day": day, "month": month, "year": year}
    return moment_asked("", fields | {"hour": hour, "minute": minute, "second": second}, LONDON)


def test_a_time_typed_in_summer_is_read_in_british_summer_time() -> None:
    asked = typed("1", "7", "2026", "10", "00")
    assert asked.errors == {}
    assert asked.at == datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
    assert typed("24", "11", "2026", "09", "01", "02").at == T0 + timedelta(seconds=62)


def test_nothing_typed_is_now() -> None:
    asked = moment_asked("", dict.fromkeys(("day", "month", "year", "hour", "minute"), " "), LONDON)
    assert (asked.at, asked.errors) == (None, {})


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        (("", "11", "2026", "09", "00"), "moment_day", "The date must include a day"),
        (("31", "2", "2026", "09", "00"), "moment_day", "The date must be a real date"),
        (("1", "13", "2026", "09", "00"), "moment_day", "The date must be a real date"),
        (("1", "11", "26", "09", "00"), "moment_day", "The year must include 4 numbers"),
        (("1", "11", "2026", "", "00"), "moment_hour", "The time must include an hour"),
        (("1", "11", "2026", "24", "00"), "moment_hour", "The time must be a real time"),
        (("1", "11", "2026", "9", "x"), "moment_hour", "The time must be a real time"),
        (("1", "11", "2026", "9", "²"), "moment_hour", "The time must be a real time"),
        (("0", "11", "2026", "09", "00"), "moment_day", "The date must be a real date"),
    ],
)
def test_a_date_or_time_that_is_not_one_is_named_by_its_field(
    fields: tuple[str, ...], field: str, message: str
) -> None:
    asked = typed(*fields)
    assert asked.at is None
    assert asked.errors[field] == message
    assert asked.fields["day"] == fields[0]  # kept as sent, to be shown again


@pytest.mark.parametrize(
    ("day", "month", "said"),
    [("29", "3", "the clocks went forward"), ("25", "10", "the clocks went back")],
)
def test_the_hour_the_clocks_change_is_refused_in_words(day: str, month: str, said: str) -> None:
    asked = typed(day, month, "2026", "01", "30")
    assert asked.at is None
    assert said in asked.errors["moment_hour"]
    assert asked.errors["moment_hour"].startswith("This time in Europe/London")


def test_a_moment_in_the_address_is_taken_as_it_is_and_fills_the_form() -> None:
    asked = moment_asked("2026-07-01T09:00:00.250000+00:00", {}, LONDON)
    assert asked.at == datetime(2026, 7, 1, 9, 0, 0, 250000, tzinfo=UTC)
    assert asked.fields == {
        "day": "1",
        "month": "7",
        "year": "2026",
        "hour": "10",
        "minute": "00",
        "second": "00",
    }
    assert moment_asked("2026-07-01T10:00", {}, LONDON).at == datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
    in_the_gap = moment_asked("2026-03-29T01:30", {}, LONDON)
    assert "clocks went forward" in in_the_gap.errors["moment_hour"]
    assert (in_the_gap.fields["hour"], in_the_gap.fields["minute"]) == ("01", "30")
    for odd in ("yesterday", "0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59-12:00"):
        assert moment_asked(odd, {}, LONDON).errors == {
            "moment_day": "The moment in the address is not a date"
        }


def test_the_steps_go_to_the_entry_before_the_latest_shown_and_the_one_after() -> None:
    recorded = [T0, T0 + timedelta(seconds=1), T0 + timedelta(seconds=1), T0 + timedelta(hours=1)]
    between = steps(recorded, T0 + timedelta(minutes=30))
    assert (between.shown, between.total) == (3, 4)
    assert (between.previous, between.next) == (T0, T0 + timedelta(hours=1))
    first = steps(recorded, T0)
    assert (first.shown, first.previous, first.next) == (1, None, T0 + timedelta(seconds=1))
    now = steps(recorded, None)
    assert (now.shown, now.previous, now.next) == (4, T0 + timedelta(seconds=1), None)


def entry(number: int, kind: str, summary: str = "", reason: str = "") -> dict[str, Any]:
    return {"number": number, "kind": kind, "summary": summary or kind, "reason": reason}


def test_each_correction_is_beside_the_entry_it_corrects() -> None:
    entries = [
        entry(1, "disclosure_recorded"),
        entry(2, "triage_recorded"),
        entry(3, "young_person_recorded", "YP-1 (Year 9): pictured"),
        entry(4, "triage_corrected", reason="Invented: shared more widely"),
        entry(5, "young_person_corrected", "YP-1 (Year 10): pictured", reason="Invented"),
        entry(6, "triage_corrected", reason="Invented: again"),
    ]
    shown = [
        (e["number"], [(c["number"], n) for c, n in beside]) for e, beside in timeline(entries)
    ]
    assert shown == [(1, []), (2, [(4, 2), (6, 4)]), (3, [(5, 3)])]


def test_times_are_shown_in_the_trust_s_zone_with_its_name() -> None:
    assert local("2026-07-01T09:00:00Z", LONDON) == "1 July 2026, 10:00:00 BST"
    assert local(T0, LONDON) == "24 November 2026, 09:00:00 GMT"
    assert local(None, LONDON) == ""
    # Entries a few milliseconds apart are told apart.
    assert local("2026-11-24T09:00:00.0456Z", LONDON) == "24 November 2026, 09:00:00.045 GMT"
