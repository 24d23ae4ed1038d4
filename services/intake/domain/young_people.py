"""The young people an incident involves, each by a pseudonymous reference, never by name."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.intake.domain.errors import IntakeError

SEXES = ("female", "male", "not_recorded")
"""Sex as the school records it: the device-search rule needs it (same-sex searcher)."""
VULNERABILITIES = (
    "special_educational_needs",
    "looked_after",
    "child_protection_plan",
    "child_in_need",
    "young_carer",
    "other",
)
ROLES = ("pictured", "sender", "recipient", "forwarder", "discloser")
PSEUDONYM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{1,39}$")


@dataclass(frozen=True)
class YoungPerson:
    """One young person as recorded at one moment (a correction is a later record)."""

    pseudonym: str
    year_group: int | None
    age: int | None
    sex: str
    vulnerabilities: list[str]
    roles: list[str]
    reason: str
    recorded_by: str
    recorded_by_role: str
    occurred_at: datetime
    recorded_at: datetime


def checked_young_person(details: dict[str, Any]) -> dict[str, Any]:
    """The details in their recorded form, or an :class:`IntakeError` naming what is wrong."""
    pseudonym = str(details.get("pseudonym", ""))
    if not PSEUDONYM.match(pseudonym):
        msg = "pseudonym: 2 to 40 letters, digits or hyphens (a reference, never a name)"
        raise IntakeError(msg)
    year_group, age = details.get("year_group"), details.get("age")
    if year_group is None and age is None:
        msg = f"{pseudonym}: a year group or an age is needed"
        raise IntakeError(msg)
    if year_group is not None and not 0 <= year_group <= 14:
        msg = f"{pseudonym}: year group {year_group} is not a school year (0 to 14)"
        raise IntakeError(msg)
    if age is not None and not 3 <= age <= 25:
        msg = f"{pseudonym}: age {age} is outside 3 to 25"
        raise IntakeError(msg)
    sex = details.get("sex", "not_recorded")
    if sex not in SEXES:
        msg = f"{pseudonym}: sex must be one of {', '.join(SEXES)}"
        raise IntakeError(msg)
    vulnerabilities = sorted(set(details.get("vulnerabilities", [])))
    roles = sorted(set(details.get("roles", [])))
    if set(vulnerabilities) - set(VULNERABILITIES):
        msg = f"{pseudonym}: vulnerabilities must be among {', '.join(VULNERABILITIES)}"
        raise IntakeError(msg)
    if not roles or set(roles) - set(ROLES):
        msg = f"{pseudonym}: one or more roles among {', '.join(ROLES)}"
        raise IntakeError(msg)
    return {
        "pseudonym": pseudonym,
        "year_group": year_group,
        "age": age,
        "sex": sex,
        "vulnerabilities": vulnerabilities,
        "roles": roles,
    }
