"""Step 2: searching a device, only under the policy's four conditions.

The conditions (school policy, appendix 8, step 2): the search follows the school's policies;
it is conducted by the head or a person the head authorised; a member of the safeguarding team
is present; the searcher is of the same sex as the young person. A search that breaks one is
refused, naming it, unless the emergency exception applies (a risk of serious harm and no other
member of staff practicable), with a written justification; such a case is flagged for review.
A decision not to search, because it would add to the young person's distress, is recorded with
its reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.intake.domain.errors import IntakeError

OUTCOMES = ("nothing_found", "inappropriate_content", "potentially_illegal_imagery_suspected")
SEXES_THAT_MATCH = ("female", "male")


class SearchConditionError(IntakeError):
    """A search that breaks one of step 2's conditions; the message names which."""


@dataclass(frozen=True)
class SearchAuthorisation:
    """The head authorised a named person to search a young person's device."""

    searcher: str
    pseudonym: str
    authorised_by: str
    occurred_at: datetime
    recorded_at: datetime


@dataclass(frozen=True)
class Search:
    """A device searched, and what was found (in words: never the image)."""

    pseudonym: str
    device: str
    searcher: str
    searcher_sex: str
    safeguarding_team_member: str
    outcome: str
    emergency: bool
    emergency_justification: str
    conditions_not_met: list[str]
    recorded_by: str
    recorded_by_role: str
    occurred_at: datetime
    recorded_at: datetime


@dataclass(frozen=True)
class DeclinedSearch:
    """A decision not to search, because it would add to the young person's distress."""

    pseudonym: str
    reason: str
    recorded_by: str
    recorded_by_role: str
    occurred_at: datetime
    recorded_at: datetime


def unmet_conditions(
    *,
    policy_followed: bool,
    searcher: str,
    searcher_is_head: bool,
    authorised_searchers: set[str],
    safeguarding_team_member: str,
    searcher_sex: str,
    young_person_sex: str,
) -> list[str]:
    """Step 2's conditions this search does not meet, in the policy's order."""
    unmet = []
    if not policy_followed:
        unmet.append("the search is not in accordance with the school's safeguarding policies")
    if not (searcher_is_head or searcher in authorised_searchers):
        unmet.append(f"{searcher} is neither the head nor a person the head authorised")
    if not safeguarding_team_member.strip():
        unmet.append("no member of the safeguarding team is named as present")
    if young_person_sex not in SEXES_THAT_MATCH:
        unmet.append("the young person's sex is not recorded, so the same-sex rule cannot be met")
    elif searcher_sex != young_person_sex:
        unmet.append("the searcher is not of the same sex as the young person")
    return unmet


def check_search(
    unmet: list[str], *, emergency: bool, emergency_justification: str, outcome: str
) -> None:
    """Refuse a search that breaks a condition, unless the emergency exception is justified."""
    if outcome not in OUTCOMES:
        msg = f"outcome must be one of {', '.join(OUTCOMES)}"
        raise IntakeError(msg)
    if emergency and not emergency_justification.strip():
        msg = "the emergency exception needs its written justification"
        raise SearchConditionError(msg)
    if unmet and not emergency:
        msg = "search refused: " + "; ".join(unmet)
        raise SearchConditionError(msg)
