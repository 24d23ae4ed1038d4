"""The disclosure form's model: what a member of staff fills in (:class:`Filled`, its young
people's :class:`Row`), its words, and its check before intake is asked (:func:`checked`).
Pure: no request, no service; :mod:`services.web.pages.staff` serves it."""

from __future__ import annotations

import dataclasses
import typing
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from annotated_types import Ge, Le
from starlette.datastructures import FormData

from services.intake.domain.disclosure import DISCLOSURE_ROUTES, YoungPersonRecorded
from shared.entries import CLOCK_SKEW
from shared.identity import Principal
from shared.imagery import find_image_data
from shared.trust import School, Trust
from shared.vocabulary import YoungPersonRole, is_pseudonym

ROUTE_WORDS = {
    "young_person": "A young person told me about themselves",
    "peer": "A young person told me about someone else",
    "staff_discovery": "I, or another member of staff, saw or found it",
    "parent_or_carer": "A parent or carer told us",
    "other_agency": "Another agency told us, for example the police or social care",
    "anonymous": "Someone told us without giving their name",
}
"""How the school came to know (intake's disclosure routes), in plain words."""

ROLE_WORDS = {
    "discloser": "Told us about it",
    "pictured": "Is in the image",
    "sender": "Sent the image",
    "recipient": "Was sent the image",
    "forwarder": "Passed the image on to others",
}
"""What a young person did, or had done to them (intake's roles), in plain words."""

ROLES: tuple[str, ...] = tuple(
    sorted(typing.get_args(YoungPersonRole), key=lambda role: role != "discloser")
)
"""Intake's roles, the one who told first (the form starts with them)."""
MAX_ROWS = 20
"""Young people on the form; the DSL adds more to the case if there are more."""


def _bounds(name: str) -> tuple[int, int]:
    """The least and greatest value intake's declaration of a young person allows a field."""
    hint = typing.get_type_hints(YoungPersonRecorded, include_extras=True)[name]
    low = next(m.ge for m in hint.__metadata__ if isinstance(m, Ge))
    high = next(m.le for m in hint.__metadata__ if isinstance(m, Le))
    return typing.cast("int", low), typing.cast("int", high)


YEAR_GROUPS = _bounds("year_group")
AGES = _bounds("age")


def schools_of(trust: Trust, principal: Principal) -> list[School]:
    """The schools this user records for."""
    return [s for s in trust.schools if principal.may_act_for(s.code)]


@dataclass
class Row:
    """A young person as typed on the form."""

    pseudonym: str = ""
    roles: list[str] = field(default_factory=list)
    year_group: str = ""
    age: str = ""

    def blank(self) -> bool:
        return not (self.pseudonym or self.roles or self.year_group or self.age)


ROW_FIELDS = tuple(f.name for f in dataclasses.fields(Row))


@dataclass
class Filled:
    """The form as the member of staff filled it: sent back to them as it was when refused."""

    key: str
    school: str = ""
    disclosure_route: str = ""
    summary: str = ""
    day: str = ""
    month: str = ""
    year: str = ""
    hour: str = ""
    minute: str = ""
    rows: list[Row] = field(default_factory=lambda: [Row()])

    @classmethod
    def new(cls, now: datetime) -> Filled:
        """An empty form, its time now, with a fresh key: the key names this disclosure."""
        return cls(
            key=str(uuid.uuid4()),
            day=str(now.day),
            month=str(now.month),
            year=str(now.year),
            hour=f"{now.hour:02d}",
            minute=f"{now.minute:02d}",
        )

    @classmethod
    def of(cls, form: FormData) -> Filled:
        def text(name: str) -> str:
            value = form.get(name, "")
            return value.strip() if isinstance(value, str) else ""

        try:
            key = str(UUID(text("idempotency_key")))
        except ValueError:
            # Not one of our forms' keys: a new one, so that a retry of this page is safe.
            key = str(uuid.uuid4())
        posted = [
            _number(name.split(".")[1], 0, MAX_ROWS)
            for name in form
            if name.startswith("young_people.") and name.count(".") == 2
        ]
        rows = max(
            [_number(text("rows"), 1, MAX_ROWS) or 1, *(i + 1 for i in posted if i is not None)]
        )
        return cls(
            key=key,
            school=text("school"),
            disclosure_route=text("disclosure_route"),
            summary=text("summary"),
            day=text("occurred_day"),
            month=text("occurred_month"),
            year=text("occurred_year"),
            hour=text("occurred_hour"),
            minute=text("occurred_minute"),
            rows=[
                Row(
                    pseudonym=text(f"young_people.{i}.pseudonym"),
                    roles=[str(r) for r in form.getlist(f"young_people.{i}.roles")],
                    year_group=text(f"young_people.{i}.year_group"),
                    age=text(f"young_people.{i}.age"),
                )
                for i in range(min(rows, MAX_ROWS))
            ],
        )

    def without_blank_rows(self) -> None:
        """Optional rows left empty are dropped, so that each young person sent has the index
        of their row (intake names a problem by that index)."""
        self.rows = [self.rows[0], *(row for row in self.rows[1:] if not row.blank())]

    def field_names(self) -> list[str]:
        """The names a problem may be shown against, in the order the form asks them."""
        names = ["school", "disclosure_route", "summary", "occurred_at", "occurred_time"]
        for i in range(len(self.rows)):
            names += [f"young_people.{i}.{n}" for n in ROW_FIELDS]
        return names


def _number(text: str, low: int, high: int) -> int | None:
    """A whole number from ``low`` to ``high`` typed as digits, else ``None``."""
    if not (text.isdigit() and len(text) <= len(str(high))):
        return None
    return int(text) if low <= int(text) <= high else None


def checked(
    filled: Filled, schools: list[School], zone: ZoneInfo
) -> tuple[dict[str, Any], dict[str, str]]:
    """The disclosure as intake takes it, and the problems, each under the field it is about
    (in the order the form asks them)."""
    errors: dict[str, str] = {}
    codes = [s.code for s in schools]
    school = filled.school or (codes[0] if len(codes) == 1 else "")
    if not school:
        errors["school"] = "Select the school"
    elif school not in codes:
        errors["school"] = "Select a school you record disclosures for"
    if filled.disclosure_route not in DISCLOSURE_ROUTES:
        errors["disclosure_route"] = "Select how you came to know"
    if not filled.summary:
        errors["summary"] = "Enter what was said"
    elif find_image_data(filled.summary):
        filled.summary = ""  # never sent back: it carries an image, or a link to one
        errors["summary"] = (
            "What was said must be words only: never the image, a copy of it or a link to it"
        )
    occurred_at, problems = _occurred_at(filled, zone)
    errors.update(problems)
    people = []
    seen: set[str] = set()
    for i, row in enumerate(filled.rows):
        at = f"young_people.{i}"
        who = row.pseudonym if is_pseudonym(row.pseudonym) else f"young person {i + 1}"
        if not row.pseudonym:
            errors[f"{at}.pseudonym"] = (
                "Enter a pseudonym for the young person who told you, such as YP-A1"
                if i == 0
                else f"Enter a pseudonym for young person {i + 1}, such as YP-A1"
            )
        elif not is_pseudonym(row.pseudonym):
            errors[f"{at}.pseudonym"] = (
                "A pseudonym is 2 to 40 letters, numbers or hyphens with no spaces, such as "
                "YP-A1: never a name"
            )
        elif row.pseudonym in seen:
            errors[f"{at}.pseudonym"] = "Give each young person a different pseudonym"
        seen.add(row.pseudonym)
        roles = [r for r in row.roles if r in ROLES]
        if not roles:
            errors[f"{at}.roles"] = f"Select what {who} did or had done to them"
        year_group = _number(row.year_group, *YEAR_GROUPS)
        age = _number(row.age, *AGES)
        if row.year_group and year_group is None:
            errors[f"{at}.year_group"] = (
                f"School year must be a number from {YEAR_GROUPS[0]} (Reception) to "
                f"{YEAR_GROUPS[1]}"
            )
        if row.age and age is None:
            errors[f"{at}.age"] = f"Age must be a number from {AGES[0]} to {AGES[1]}"
        if not row.year_group and not row.age:
            errors[f"{at}.year_group"] = f"Enter the school year of {who}, or their age"
        person: dict[str, Any] = {"pseudonym": row.pseudonym, "roles": roles}
        if year_group is not None:
            person["year_group"] = year_group
        if age is not None:
            person["age"] = age
        people.append(person)
    disclosure = {
        "school": school,
        "disclosure_route": filled.disclosure_route,
        "summary": filled.summary,
        "occurred_at": occurred_at.isoformat(timespec="minutes") if occurred_at else None,
        "young_people": people,
    }
    return disclosure, errors


def _occurred_at(filled: Filled, zone: ZoneInfo) -> tuple[datetime | None, dict[str, str]]:
    """The wall-clock time the member of staff gave (read in the trust's zone by intake)."""
    errors: dict[str, str] = {}
    day, month, year = (_number(t, 1, 9999) for t in (filled.day, filled.month, filled.year))
    if not (filled.day and filled.month and filled.year):
        errors["occurred_at"] = "Enter the date they told you, for example 27 3 2026"
    elif day is None or month is None or year is None:
        errors["occurred_at"] = "The date must be numbers, for example 27 3 2026"
    hour, minute = _number(filled.hour, 0, 23), _number(filled.minute, 0, 59)
    if hour is None or minute is None:
        errors["occurred_time"] = "Enter the time as hours (0 to 23) and minutes (0 to 59)"
    if errors or day is None or month is None or year is None or hour is None or minute is None:
        return None, errors
    try:
        occurred_at = datetime(year, month, day, hour, minute)
    except ValueError:
        return None, {"occurred_at": "The date must be a real date"}
    if occurred_at > datetime.now(zone).replace(tzinfo=None) + CLOCK_SKEW:
        return None, {"occurred_at": "The date and time must be now or in the past"}
    return occurred_at, {}


def field_of_problem(problem: str, filled: Filled) -> str:
    """The form's field a service's problem names (``young_people.0.roles.1``: the roles of the
    first young person); ``disclosure`` for the whole disclosure."""
    parts = problem.split(".") if problem else []
    while parts:
        name = ".".join(parts)
        if name in filled.field_names():
            return name
        parts.pop()
    if problem.startswith("young_people"):
        return "young_people.0.pseudonym"
    return "disclosure"


def problem_words(message: str) -> str:
    message = message.removeprefix("Value error, ")
    return message[:1].upper() + message[1:]
