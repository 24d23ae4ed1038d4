"""A time sent without a zone is read in the trust's time zone, and the answer says so.

People type the time on the clock on the wall (``2026-03-10T09:15``). Every time a request may
carry (``occurred_at``, a deadline, ``as_of``) is a :data:`TrustTime`: a time with a zone or an
offset is taken as it is; a time without one is read in the trust's time zone (``timezone`` in
the trust file), daylight saving time included, and the response carries the header
``Safeguard-Time-Zone-Assumed: occurred_at read as Europe/London``. A wall-clock time that did
not happen (the hour the clocks go forward) or happened twice (the hour they go back) is a 422
naming the field: only its offset can say which moment was meant.

How: each service's router depends on :func:`read_local_times`, which FastAPI solves before it
validates the parameters and the body; it leaves the trust's zone and the response for them in
a context variable. Outside a request (the intake client checking a disclosure it queues) there
is no trust to read a time in, and a time without a zone is refused, as pydantic's
``AwareDatetime`` does.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timezone
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Request, Response
from pydantic import AfterValidator, ValidationInfo
from pydantic_core import PydanticCustomError

HEADER = "Safeguard-Time-Zone-Assumed"


@dataclass
class _Reading:
    """The request being read: the trust's zone, and the fields read in it so far."""

    zone: ZoneInfo
    response: Response
    assumed: list[str] = field(default_factory=list)

    def assume(self, name: str) -> None:
        if name not in self.assumed:
            self.assumed.append(name)
        self.response.headers[HEADER] = f"{', '.join(self.assumed)} read as {self.zone.key}"


_READING: ContextVar[_Reading | None] = ContextVar("safeguard_local_time", default=None)


async def read_local_times(request: Request, response: Response) -> None:
    """FastAPI dependency of every service's routes: the request's times without a zone are
    read in the trust's. It is ``async`` so that it runs in the request's own task, where the
    parameters and body are validated next (a plain ``def`` would run in a worker thread, in a
    copy of the context, and leave nothing here)."""
    trust = request.app.state.runtime.trust
    _READING.set(_Reading(ZoneInfo(trust.timezone), response))


class InTrustZone:
    """Validates a time: as sent if it has a zone, else read in the trust's zone (see the
    module). ``name`` is the field's, for a query parameter (pydantic names a body field)."""

    def __init__(self, name: str | None = None) -> None:
        self.name = name

    def __call__(self, value: datetime, info: ValidationInfo) -> datetime:
        if value.utcoffset() is not None:
            return value
        reading = _READING.get()
        if reading is None:
            raise PydanticCustomError("timezone_aware", "Input should have timezone info")
        local = in_zone(value, reading.zone)
        reading.assume(self.name or info.field_name or "time")
        return local


def in_zone(wall_clock: datetime, zone: ZoneInfo) -> datetime:
    """The moment a wall-clock time in ``zone`` names, with its offset in that zone; refused
    (a pydantic error) if the clocks changed then, so that it names no moment or two."""
    first, second = wall_clock.replace(tzinfo=zone, fold=0), wall_clock.replace(tzinfo=zone, fold=1)
    offset = first.utcoffset()
    assert offset is not None  # a ZoneInfo always has one
    if offset != second.utcoffset():
        if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall_clock:
            what = "did not happen: the clocks went forward"
        else:
            what = "happened twice: the clocks went back"
        msg = f"this time in {zone.key} {what}; send it with its offset"
        raise PydanticCustomError("time_zone_changed", msg)
    # A fixed offset, as a time sent with one is held, instead of the zone's rules.
    return first.replace(tzinfo=timezone(offset))


TrustTime = Annotated[datetime, AfterValidator(InTrustZone())]
"""A time in a request: with a zone, or read in the trust's."""
