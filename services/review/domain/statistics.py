"""The trust's statistics without names: a pure function of case views.

The trust safeguarding lead oversees every school and sees no case: only how many cases there
were by month of disclosure, school, classification in force and disclosure route; how often
the police, children's social care and CEOP were referred to; and the median minutes from a
disclosure to the DSL being told and to a referral (police or children's social care) made.

Each case is first reduced to its :class:`CaseFigures` (its school, month, classification,
route, referrals and minutes: no pseudonym, summary, reference, case id or name), and only those
are counted, so nothing that names a case or a person can reach the output.

Small-group suppression (``MINIMUM_GROUP`` = 5)
-----------------------------------------------
1. **The total.** When fewer than five cases are counted (and more than none), the total is
   suppressed, and so is every figure below it (each breakdown is withheld, see 4).
2. **Primary suppression.** In a breakdown, a group of one to four cases is suppressed: its
   count is ``None`` and ``suppressed`` is true. A breakdown lists only groups with at least one
   case, so zero is never shown and never suppressed (it names no one), and groups are listed
   in the order of their names, never by size (an order by size would place a hidden count
   between two shown ones).
3. **Secondary suppression.** The total is shown beside each breakdown, so the suppressed groups
   together hold ``total - sum(shown)`` cases, and a reader knows each listed group holds at
   least one. So whenever a group is suppressed, further groups are suppressed, the smallest
   first (ties by name), until the suppressed groups are at least two (one alone would be the
   difference), hold at least five cases between them (their union is itself a group, which
   subtraction reveals), and hold more cases than there are of them (else each would be exactly
   one).
4. **Withheld.** If that cannot be reached even with every group suppressed (five groups of one
   case each, say, or a suppressed total), the listed groups themselves would give their counts
   away, so the breakdown is withheld: no group is listed and ``withheld`` is true.
5. **Rates** are over all the cases counted: a rate is suppressed unless at least five cases
   are counted and both the cases referred and the cases not referred are none or at least
   five (the rate times the total shown would give either count).
6. **Medians** are suppressed when fewer than five cases have the measure; the number of cases
   behind a median is never shown (subtracted from the total, it would count the cases without
   the measure).

What this does not prevent: two requests over different months or scopes can be subtracted
one from the other (a range's total minus a shorter range's total is a month's). A
determined reader with access to both is not stopped here; rounding every count would be the
next step.

A case is counted once its disclosure (intake's report) is on record: the month and the minutes
are counted from it. Months are those of the trust's time zone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from statistics import median

from services.review.domain.case_view import CaseView
from shared.actions import DONE

MINIMUM_GROUP = 5
"""Any group of fewer cases than this is suppressed."""

REFERRALS = ("police", "childrens_social_care", "ceop")
"""The referrals whose rates are counted (referral's actions, done)."""

REFERRALS_TIMED = ("police", "childrens_social_care")
"""The referrals the minutes from disclosure to a referral are counted to: the first made."""

DSL_INFORMED = "dsl_informed"
"""The kind of entry review's chronology gives intake's LeadershipInformedV1 with audience
``dsl`` (``services.review.domain.chronology``): its ``occurred_at`` is when the DSL was told,
and its reason, if any, the correction's."""


@dataclass(frozen=True)
class CaseFigures:
    """What the statistics count of one case: nothing that names it or anyone in it."""

    school: str
    month: str
    classification: str
    disclosure_route: str
    referred: frozenset[str]
    minutes_to_dsl_told: int | None
    minutes_to_referral: int | None


@dataclass(frozen=True)
class Count:
    """A number of cases, or None when suppressed."""

    count: int | None
    suppressed: bool


@dataclass(frozen=True)
class Group:
    """One group of a breakdown (a month, a school, a classification, a route)."""

    group: str
    count: int | None
    suppressed: bool


@dataclass(frozen=True)
class Breakdown:
    """The cases by one property: each group with at least one case, by name; or, when its
    groups would give their counts away, none of them (``withheld``)."""

    groups: tuple[Group, ...]
    withheld: bool = False


@dataclass(frozen=True)
class Rate:
    """The share of the cases counted with a referral done, or None when suppressed."""

    rate: float | None
    suppressed: bool


@dataclass(frozen=True)
class Median:
    """The median minutes over the cases with the measure, or None when suppressed."""

    minutes: float | None
    suppressed: bool


@dataclass(frozen=True)
class Statistics:
    """The trust's (or a school's) statistics, every group under five suppressed."""

    from_month: str | None
    to_month: str | None
    cases: Count
    by_month: Breakdown
    by_school: Breakdown
    by_classification: Breakdown
    by_disclosure_route: Breakdown
    referral_rates: dict[str, Rate]
    minutes_to_dsl_told: Median
    minutes_to_referral: Median


def statistics_of(
    views: Iterable[CaseView],
    *,
    tz: tzinfo = UTC,
    from_month: str | None = None,
    to_month: str | None = None,
) -> Statistics:
    """The statistics of ``views`` whose disclosure fell in ``from_month`` to ``to_month``
    (``YYYY-MM``, both included, in ``tz``), every group under five suppressed."""
    counted = [
        f
        for v in views
        if (f := figures(v, tz)) is not None
        and (from_month is None or f.month >= from_month)
        and (to_month is None or f.month <= to_month)
    ]
    total = len(counted)
    total_shown = total == 0 or total >= MINIMUM_GROUP

    def breakdown(counts: Counter[str]) -> Breakdown:
        return suppress(counts) if total_shown else Breakdown((), withheld=True)

    return Statistics(
        from_month=from_month,
        to_month=to_month,
        cases=Count(total if total_shown else None, not total_shown),
        by_month=breakdown(Counter(f.month for f in counted)),
        by_school=breakdown(Counter(f.school for f in counted)),
        by_classification=breakdown(Counter(f.classification for f in counted)),
        by_disclosure_route=breakdown(Counter(f.disclosure_route for f in counted)),
        referral_rates={r: rate(sum(r in f.referred for f in counted), total) for r in REFERRALS},
        minutes_to_dsl_told=median_of(
            [f.minutes_to_dsl_told for f in counted if f.minutes_to_dsl_told is not None]
        ),
        minutes_to_referral=median_of(
            [f.minutes_to_referral for f in counted if f.minutes_to_referral is not None]
        ),
    )


def figures(view: CaseView, tz: tzinfo = UTC) -> CaseFigures | None:
    """What the statistics count of a case; None until its disclosure is on record (before
    that review knows neither its month nor its route)."""
    if not view.disclosure_route or view.opened_at is None:
        return None
    disclosed = view.opened_at
    referred = frozenset(
        name for name in REFERRALS if (a := view.actions.get(name)) and a.status == DONE
    )
    referred_at = [
        view.actions[name].decision["occurred_at"] for name in REFERRALS_TIMED if name in referred
    ]
    told = _dsl_told_at(view)
    return CaseFigures(
        school=view.school,
        month=disclosed.astimezone(tz).strftime("%Y-%m"),
        classification=view.classification,
        disclosure_route=view.disclosure_route,
        referred=referred,
        minutes_to_dsl_told=None if told is None else _minutes(disclosed, told),
        minutes_to_referral=_minutes(disclosed, min(referred_at)) if referred_at else None,
    )


def suppress(counts: Mapping[str, int]) -> Breakdown:
    """A breakdown of ``counts`` beside a shown total, by the rules of this module's
    docstring: primary, then secondary suppression, else withheld."""
    present = {group: n for group, n in counts.items() if n > 0}
    hidden = {group for group, n in present.items() if n < MINIMUM_GROUP}
    if hidden:
        shown = sorted((n, group) for group, n in present.items() if group not in hidden)
        while shown and not _protected([present[g] for g in hidden]):
            hidden.add(shown.pop(0)[1])
        if not _protected([present[g] for g in hidden]):
            return Breakdown((), withheld=True)
    return Breakdown(
        tuple(
            Group(group, None, True) if group in hidden else Group(group, n, False)
            for group, n in sorted(present.items())
        )
    )


def rate(done: int, of: int) -> Rate:
    """``done`` of ``of`` cases, suppressed unless ``of`` is at least five and neither those
    referred nor those not referred are a group of one to four."""
    small = [n for n in (done, of - done) if 0 < n < MINIMUM_GROUP]
    if of < MINIMUM_GROUP or small:
        return Rate(None, True)
    return Rate(round(done / of, 3), False)


def median_of(minutes: list[int]) -> Median:
    """The median, suppressed over fewer than five cases."""
    if len(minutes) < MINIMUM_GROUP:
        return Median(None, True)
    return Median(float(median(minutes)), False)


def _protected(hidden: list[int]) -> bool:
    """Whether suppressed groups of these sizes, listed beside the total, keep their counts:
    at least two, together at least five cases, and more cases than groups (each listed group
    holds at least one, so as many cases as groups would make each exactly one)."""
    held = sum(hidden)
    return len(hidden) >= 2 and held >= MINIMUM_GROUP and held > len(hidden)


def _dsl_told_at(view: CaseView) -> datetime | None:
    """When the DSL was told: the latest correction of it, if any, else the first telling."""
    told = sorted((e for e in view.entries if e.kind == DSL_INFORMED), key=lambda e: e.number)
    corrections = [e for e in told if e.reason]
    if corrections:
        return corrections[-1].occurred_at
    return told[0].occurred_at if told else None


def _minutes(start: datetime, end: datetime) -> int:
    """Whole minutes, as intake counts ``minutes_after_disclosure``."""
    return int((end - start).total_seconds() // 60)
