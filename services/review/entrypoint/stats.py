"""The trust's statistics without names (``GET /stats``): counts by month, school,
classification and disclosure route, referral rates and median minutes, every group under five
suppressed (the rules are :mod:`services.review.domain.statistics`').

For the trust safeguarding lead and auditors (every school their token names; a trust-wide
token: every school), and a school's DSL and head (their own school). ``?school=`` narrows to
one school the token names; another school is 404 "no such school for you", as for every
list. Without it, a DSL or head sees the schools of their token, never more: not a 403, since
their own school's figures are theirs to see. Reading statistics reads no one case, so no read
is recorded on any case.
"""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, HTTPException, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field

from services.review.domain.statistics import MINIMUM_GROUP, statistics_of
from services.review.entrypoint.common import reviews_of, router
from shared.identity import ALL_SCHOOLS, Authorize, Principal, Role, schools_listed
from shared.runtime import ServiceRuntime

__all__ = ["router"]

STATS_READERS = Authorize(Role.TRUST_LEAD, Role.AUDITOR, Role.DSL, Role.HEAD)

MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class CountOut(_Out):
    """A number of cases; null, with ``suppressed``, when fewer than five."""

    count: int | None
    suppressed: bool


class GroupOut(_Out):
    """One group and its cases; null, with ``suppressed``, when hidden."""

    group: str
    count: int | None
    suppressed: bool


class BreakdownOut(_Out):
    """The groups with at least one case, by name; none, with ``withheld``, when listing them
    would give their counts away."""

    groups: list[GroupOut]
    withheld: bool


class RateOut(_Out):
    """The share (0 to 1) of the cases counted with this referral done."""

    rate: float | None
    suppressed: bool


class MedianOut(_Out):
    """Median whole minutes over the cases with the measure (their number is not shown)."""

    minutes: float | None
    suppressed: bool


class StatisticsOut(_Out):
    """Statistics without names: no pseudonym, summary, reference or case id."""

    schools: list[str] = Field(
        description="The schools counted: the one asked for, or the token's ('*': every one)."
    )
    from_month: str | None
    to_month: str | None
    timezone: str = Field(description="The trust's: months of disclosure are counted in it.")
    minimum_group: int = Field(description="Any group of fewer cases is suppressed.")
    cases: CountOut
    by_month: BreakdownOut = Field(description="By month of disclosure (YYYY-MM).")
    by_school: BreakdownOut
    by_classification: BreakdownOut = Field(description="The classification in force.")
    by_disclosure_route: BreakdownOut
    referral_rates: dict[str, RateOut] = Field(
        description="police, childrens_social_care, ceop: the share of cases with it done."
    )
    minutes_to_dsl_told: MedianOut
    minutes_to_referral: MedianOut = Field(
        description="To the first police or children's social care referral done."
    )


@router.get("/stats", response_model=StatisticsOut, tags=["statistics"])
def get_statistics(
    request: Request,
    principal: Annotated[Principal, Depends(STATS_READERS)],
    school: Annotated[
        str | None,
        Query(
            pattern=r"^[A-Z]{2,8}$",
            description="One school the token names; default: every school it names.",
        ),
    ] = None,
    from_month: Annotated[
        str | None, Query(alias="from", pattern=MONTH, description="First month, YYYY-MM.")
    ] = None,
    to_month: Annotated[
        str | None, Query(alias="to", pattern=MONTH, description="Last month, YYYY-MM.")
    ] = None,
) -> StatisticsOut:
    """Counts by month of disclosure, school, classification and disclosure route; referral
    rates; median minutes to the DSL told and to a referral. Any group under five is
    suppressed, and so is whatever would let it be worked out from the totals shown."""
    if from_month and to_month and from_month > to_month:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "from is after to")
    reviews = reviews_of(request)
    runtime: ServiceRuntime = request.app.state.runtime
    if school is not None:
        schools = scope = schools_listed(principal, runtime.trust, school)
    elif ALL_SCHOOLS in principal.schools:
        schools = [s for s in reviews.schools() if principal.may_act_for(s)]
        scope = sorted(principal.schools)
    else:
        schools = scope = sorted(principal.schools)
    tz = ZoneInfo(runtime.trust.timezone)
    # school_cases builds each view without recording a read of it.
    views = (view for s in schools for view in reviews.school_cases(s))
    figures = statistics_of(views, tz=tz, from_month=from_month, to_month=to_month)
    return StatisticsOut.model_validate(
        {
            **vars(figures),
            "schools": scope,
            "timezone": runtime.trust.timezone,
            "minimum_group": MINIMUM_GROUP,
        }
    )
