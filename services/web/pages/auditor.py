"""The auditor's pages: the trust's cases, and any case as it stood at any moment.

``/audit`` lists the cases of every school the auditor's token names (an auditor's is
trust-wide), filtered by school, each with when it last changed. ``/audit/cases/{case_id}``
shows one case as it stood at a moment: chosen with GOV.UK's date input and a time in the
trust's own zone (a GET form, so that the address says the moment), or stepped to each entry's
recorded time in turn by plain links ("Previous entry", "Next entry", "Now"). As of that
moment it shows the case's state, its chronology as a timeline (who, what, when it happened,
when it was recorded, each correction beside what it corrects), each entry's place in the hash
chain as verified now (in words and a tag), and the access log.

Every read goes to review's API under the auditor's own name, so review records each page view
in the case's access log (the chain's read and the view's) before it answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic_core import PydanticCustomError

from services.web.clients import Refused
from services.web.pages.common import CSRF, SignedIn, clients_of, render, trust_of
from services.web.steps import corrections
from services.web.wording import words
from shared.identity import Principal, Role
from shared.local_time import in_zone
from shared.references import REFERENCE_PATTERN

router = APIRouter(dependencies=[CSRF])
Auditor = Annotated[Principal, Depends(SignedIn(Role.AUDITOR))]

READ = "case_read"
"""The kind of entry a read of the case is: listed in the access log, not stepped through."""

_NEVER = "0001-01-01T00:00:00+00:00"
"""The last change of a case with nothing recorded yet: listed last."""

_UUID = re.compile(r"^[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}$")

_DIGITS = re.compile(r"[0-9]{1,4}")
"""A part of a date or time as typed: ASCII digits (``str.isdigit`` takes ``²`` too)."""

# Each part of the moment asked: its field, its lowest and highest values.
_DATE_PARTS = (("day", 1, 31), ("month", 1, 12), ("year", 1, 9999))
_TIME_PARTS = (("hour", 0, 23), ("minute", 0, 59), ("second", 0, 59))


def local(value: str | datetime | None, zone: tzinfo) -> str:
    """A time as the trust reads it: ``24 November 2026, 09:01:02 GMT``; with its
    milliseconds if it has any (``09:01:02.345``), since entries may be recorded within the
    same second and a moment shown must say which side of each it is."""
    if not value:
        return ""
    at = (datetime.fromisoformat(value) if isinstance(value, str) else value).astimezone(zone)
    fraction = f".{at.microsecond // 1000:03d}" if at.microsecond else ""
    return at.strftime(f"%-d %B %Y, %H:%M:%S{fraction} %Z")


def role_words(role: str) -> str:
    """A role as people say it: ``DSL``, ``Trust lead``."""
    return "DSL" if role == "dsl" else words(role)


@dataclass(frozen=True)
class Asked:
    """The moment the page was asked for: ``at`` (None: now), the form's fields as sent or as
    ``at`` reads in the trust's zone, and what is wrong with them, by field."""

    at: datetime | None
    fields: dict[str, str]
    errors: dict[str, str]


def moment_asked(at: str, sent: dict[str, str], zone: ZoneInfo) -> Asked:
    """The moment ``at`` names (ISO 8601, as the step links write it), or else the date and
    time fields ``sent`` name in the trust's ``zone``; every field blank: now."""
    if at.strip():
        try:
            moment = datetime.fromisoformat(at.strip())
            if moment.utcoffset() is None:
                return _in_zone(moment, zone, fields_of(moment, zone))
            return Asked(moment, fields_of(moment, zone), {})
        except (ValueError, OverflowError):  # not a time; one the trust's clock cannot read
            return Asked(None, {}, {"moment_day": "The moment in the address is not a date"})
    sent = {name: value.strip() for name, value in sent.items()}
    if not any(sent.values()):
        return Asked(None, sent, {})
    errors: dict[str, str] = {}
    numbers: dict[str, int] = {}
    for parts, key, what in (
        (_DATE_PARTS, "moment_day", "date"),
        (_TIME_PARTS, "moment_hour", "time"),
    ):
        for name, low, high in parts:
            value = sent.get(name, "")
            if not value:
                if name != "second":  # seconds may be left out: 0
                    article = "an" if name == "hour" else "a"
                    errors.setdefault(key, f"The {what} must include {article} {name}")
                continue
            if not _DIGITS.fullmatch(value) or not low <= int(value) <= high:
                errors.setdefault(key, f"The {what} must be a real {what}")
                continue
            numbers[name] = int(value)
    if "year" in numbers and len(sent["year"]) != 4:
        errors.setdefault("moment_day", "The year must include 4 numbers")
    if errors:
        return Asked(None, sent, errors)
    try:
        wall_clock = datetime(
            numbers["year"],
            numbers["month"],
            numbers["day"],
            numbers["hour"],
            numbers["minute"],
            numbers.get("second", 0),
        )
    except ValueError:
        return Asked(None, sent, {"moment_day": "The date must be a real date"})
    return _in_zone(wall_clock, zone, sent)


def _in_zone(wall_clock: datetime, zone: ZoneInfo, fields: dict[str, str]) -> Asked:
    """The moment a wall-clock time names in the trust's zone; refused in words in the hour
    the clocks change (:func:`~shared.local_time.in_zone` says which way; a form cannot send
    an offset)."""
    try:
        return Asked(in_zone(wall_clock, zone), fields, {})
    except PydanticCustomError as e:
        said = str(e).split(";")[0]
        text = f"{said[:1].upper()}{said[1:]}: enter a time outside the hour the clocks changed"
        return Asked(None, fields, {"moment_hour": text})


def fields_of(moment: datetime, zone: tzinfo) -> dict[str, str]:
    """The form's fields for ``moment``, read in the trust's zone (a wall-clock time without
    a zone is taken as one already)."""
    wall = moment.astimezone(zone) if moment.utcoffset() is not None else moment
    return {
        "day": str(wall.day),
        "month": str(wall.month),
        "year": str(wall.year),
        "hour": f"{wall.hour:02d}",
        "minute": f"{wall.minute:02d}",
        "second": f"{wall.second:02d}",
    }


@dataclass(frozen=True)
class Steps:
    """Where the moment shown stands among the case's entries (reads aside): how many are on
    record then, of how many, and when the one before the latest shown and the one after it
    were recorded (None: there is none)."""

    shown: int
    total: int
    previous: datetime | None
    next: datetime | None


def steps(recorded: list[datetime], moment: datetime | None) -> Steps:
    """The steps from ``moment`` (None: now) among the entries recorded at ``recorded``.
    Entries recorded at the same instant are one step: no moment shows one without the
    other."""
    times = sorted(set(recorded))
    shown = [t for t in times if moment is None or t <= moment]
    k = len(shown)
    return Steps(
        shown=sum(1 for t in recorded if moment is None or t <= moment),
        total=len(recorded),
        previous=times[k - 2] if k >= 2 else None,
        next=times[k] if k < len(times) else None,
    )


Entry = dict[str, Any]
Correction = tuple[Entry, int]
"""A correcting entry, and the number of the entry it corrects."""


def timeline(entries: list[Entry]) -> list[tuple[Entry, list[Correction]]]:
    """The entries in the order things happened, each with the corrections of it beside it
    (a correction of a correction beside the first entry too), as the DSL's case page tells
    what corrects what."""
    corrects = corrections(entries)
    shown = {e["number"] for e in entries}

    def first(number: int) -> int:
        while number in corrects and corrects[number] in shown:
            number = corrects[number]
        return number

    beside: dict[int, list[Correction]] = {}
    for entry in entries:
        if (root := first(entry["number"])) != entry["number"]:
            beside.setdefault(root, []).append((entry, corrects[entry["number"]]))
    return [
        (entry, beside.get(entry["number"], []))
        for entry in entries
        if first(entry["number"]) == entry["number"]
    ]


def _case_named(case_id: str) -> str:
    """A case as an address may name it: its id or its reference; anything else is no case."""
    if _UUID.match(case_id) or re.match(REFERENCE_PATTERN, case_id):
        return case_id
    raise Refused(404, {"": "no such case"})


def _at_link(case_id: str, moment: datetime | None) -> str:
    path = f"/audit/cases/{case_id}"
    return f"{path}?{urlencode({'at': moment.isoformat()})}" if moment else path


@router.get("/audit")
async def audit_cases(request: Request, principal: Auditor, school: str = "") -> Response:
    """The cases of the auditor's schools (the trust's, for a trust-wide token), the latest
    changed first, each linking to its page; filtered by school."""
    trust = trust_of(request)
    zone = ZoneInfo(trust.timezone)
    names = {s.code: s.name for s in trust.schools}
    errors: dict[str, str] = {}
    if school and school not in names:
        errors["school"] = "Select a school from the list"
    listed = await clients_of(request).get(
        principal, "review", "/cases", params={"school": "" if errors else school}
    )
    cases = [] if errors else listed["cases"]
    cases.sort(key=lambda c: c["reference"])
    cases.sort(key=lambda c: datetime.fromisoformat(c["last_change"] or _NEVER), reverse=True)
    return render(
        request,
        "audit_cases.html",
        400 if errors else 200,
        cases=cases,
        school=school,
        schools=[(code, names.get(code, code)) for code in listed["schools"]],
        names=names,
        errors=errors,
        words=words,
        local=lambda value: local(value, zone),
    )


@router.get("/audit/cases/{case_id}")
async def audit_case(
    request: Request,
    case_id: str,
    principal: Auditor,
    at: str = "",
    day: Annotated[str, Query(alias="moment-day")] = "",
    month: Annotated[str, Query(alias="moment-month")] = "",
    year: Annotated[str, Query(alias="moment-year")] = "",
    hour: Annotated[str, Query(alias="moment-hour")] = "",
    minute: Annotated[str, Query(alias="moment-minute")] = "",
    second: Annotated[str, Query(alias="moment-second")] = "",
) -> Response:
    """The case as it stood at the moment asked (or now): its state, timeline, each entry's
    place in the hash chain, and the access log; a moment in the future or before the case
    was first recorded is refused in words."""
    trust = trust_of(request)
    zone = ZoneInfo(trust.timezone)
    clients = clients_of(request)
    # The chain first: it says whether the case is there for this auditor (else the 404
    # page), when its entries were recorded (the steps, and the earliest moment it can be
    # shown at), and whether each holds. Review records it as a read.
    chain = await clients.get(principal, "review", f"/cases/{_case_named(case_id)}/chain")
    case_id = chain["case_id"]
    entries = [e for e in chain["entries"] if e["kind"] != READ]
    recorded = [datetime.fromisoformat(e["recorded_at"]) for e in entries]
    sent = {"day": day, "month": month, "year": year}
    sent |= {"hour": hour, "minute": minute, "second": second}
    asked = moment_asked(at, sent, zone)
    errors = dict(asked.errors)
    moment = asked.at
    now = datetime.now(UTC)
    if moment is not None and moment > now:
        it_is = local(now.replace(microsecond=0), zone)
        errors["moment_day"] = f"The moment must be now or in the past: it is now {it_is}"
    elif moment is not None and recorded and moment < min(recorded):
        errors["moment_day"] = (
            f"The case was first recorded at {local(min(recorded), zone)}: "
            "enter that moment or a later one"
        )
    context: dict[str, Any] = {
        "case_id": case_id,
        "chain": chain,
        "trust": trust,
        "school_name": next((s.name for s in trust.schools if s.code == chain["school"]), ""),
        "zone": trust.timezone,
        "fields": asked.fields,
        "errors": errors,
        "first_link": _at_link(case_id, min(recorded)) if recorded else None,
        "local": lambda value: local(value, zone),
        "words": words,
        "role_words": role_words,
    }
    if errors:
        return render(request, "audit_case.html", 400, view=None, **context)
    params = {"as_of": moment.isoformat()} if moment else {}
    view = await clients.get(principal, "review", f"/cases/{case_id}", params=params)
    step = steps(recorded, moment)
    verified = {e["number"]: e for e in chain["entries"]}
    return render(
        request,
        "audit_case.html",
        view=view,
        moment=moment,
        shown_at=moment or now,
        step=step,
        previous_link=_at_link(case_id, step.previous) if step.previous else None,
        next_link=_at_link(case_id, step.next) if step.next else None,
        now_link=_at_link(case_id, None),
        at_link=lambda value: _at_link(case_id, datetime.fromisoformat(value)),
        timeline=timeline(view["entries"]),
        verified=verified,
        **context,
    )
