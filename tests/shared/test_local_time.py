"""A time without a zone is read in the trust's, daylight saving time included; a wall-clock
time the clocks skipped or repeated is refused; outside a request it is refused as before."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from pydantic_core import PydanticCustomError

from services.intake.entrypoint import DisclosureIn
from shared.local_time import in_zone

LONDON = ZoneInfo("Europe/London")


@pytest.mark.parametrize(
    ("wall_clock", "utc"),
    [
        (datetime(2026, 1, 15, 10, 0), datetime(2026, 1, 15, 10, 0, tzinfo=UTC)),  # GMT
        (datetime(2026, 7, 15, 10, 0), datetime(2026, 7, 15, 9, 0, tzinfo=UTC)),  # BST
        (datetime(2026, 3, 29, 0, 59), datetime(2026, 3, 29, 0, 59, tzinfo=UTC)),
        (datetime(2026, 3, 29, 2, 0), datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),
    ],
)
def test_a_wall_clock_time_is_the_moment_it_names_in_the_zone(
    wall_clock: datetime, utc: datetime
) -> None:
    local = in_zone(wall_clock, LONDON)
    assert local == utc
    assert local.replace(tzinfo=None) == wall_clock  # with its offset there, as sent


@pytest.mark.parametrize(
    ("wall_clock", "problem"),
    [
        (datetime(2026, 3, 29, 1, 30), "did not happen: the clocks went forward"),
        (datetime(2026, 10, 25, 1, 30), "happened twice: the clocks went back"),
    ],
)
def test_a_time_the_clocks_skipped_or_repeated_is_refused(
    wall_clock: datetime, problem: str
) -> None:
    with pytest.raises(PydanticCustomError, match=problem) as refused:
        in_zone(wall_clock, LONDON)
    assert "Europe/London" in str(refused.value)
    assert "send it with its offset" in str(refused.value)


def test_outside_a_request_a_time_without_a_zone_is_refused_as_before() -> None:
    # The intake client checks what it queues with the same model, and knows no trust.
    sent = {"school": "OAK", "disclosure_route": "peer", "summary": "Invented"}
    with pytest.raises(ValidationError) as refused:
        DisclosureIn.model_validate({**sent, "occurred_at": "2026-01-15T10:00:00"})
    assert refused.value.errors()[0]["type"] == "timezone_aware"
    aware = DisclosureIn.model_validate({**sent, "occurred_at": "2026-01-15T10:00:00Z"})
    assert aware.occurred_at == datetime(2026, 1, 15, 10, 0, tzinfo=UTC)
