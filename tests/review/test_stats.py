"""The trust's statistics without names: counts by month, school, classification and route,
referral rates and medians, every group under five suppressed, and nothing recoverable from the
total shown beside it; over HTTP, each school's DSL sees their own school only, a trust-wide
token sees every school, and no name, summary, reference or case id ever appears."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from services.review.application import Reviews
from services.review.domain.statistics import (
    Breakdown,
    Group,
    Statistics,
    figures,
    median_of,
    rate,
    statistics_of,
    suppress,
)
from shared.identity import Role
from tests.review.conftest import reviews_of
from tests.review.story import T0, Story, action, minutes

LONDON = ZoneInfo("Europe/London")
_numbers = itertools.count(1)


def a_case(
    reviews: Reviews,
    school: str = "OAK",
    *,
    at: datetime = T0,
    route: str = "young_person",
    classification: str = "experimental",
    subtype: str = "romantic",
    dsl_told: int | None = None,
    police: int | None = None,
    care: int | None = None,
    ceop: int | None = None,
) -> Story:
    """An invented case disclosed ``at``, the DSL told and each referral done so many minutes
    after (None: not done)."""
    number = next(_numbers)
    story = Story(reviews, school=school, reference=f"{school}-2026-{number:04d}")
    story.publish(
        "intake.incident.reported.v1",
        at,
        disclosure_route=route,
        summary=f"Invented summary number {number}: a kestrel photograph was forwarded",
    )
    if dsl_told is not None:
        told(story, at + minutes(dsl_told), disclosed=at)
    story.assessed(
        at + minutes(1),
        *(action(name, "dsl_decides") for name in ("police", "childrens_social_care", "ceop")),
        classification=classification,
        subtype=subtype,
    )
    for name, after in (("police", police), ("childrens_social_care", care), ("ceop", ceop)):
        if after is not None:
            story.done(name, at + minutes(after))
    return story


def told(
    story: Story,
    at: datetime,
    recorded_at: datetime | None = None,
    *,
    disclosed: datetime = T0,
    reason: str = "",
) -> None:
    """The DSL told of the case at ``at`` (a correction when ``reason`` is given)."""
    story.publish(
        "intake.leadership.informed.v1",
        at,
        recorded_at,
        audience="dsl",
        person="dsl.quillon",
        minutes_after_disclosure=int((at - disclosed).total_seconds() // 60),
        correction_reason=reason,
    )


def stats_of(reviews: Reviews, *stories: Story, **filters: Any) -> Statistics:
    return statistics_of([reviews.case_view(s.case_id) for s in stories], **filters)


def counts(breakdown: Breakdown) -> dict[str, int | None]:
    return {g.group: g.count for g in breakdown.groups}


def assert_not_recoverable(groups: list[dict[str, Any]], total: int) -> None:
    """No suppressed count follows from the total: the hidden groups are none, or at least
    two holding at least five cases between them, more than one each."""
    hidden = [g for g in groups if g["suppressed"]]
    held = total - sum(g["count"] for g in groups if not g["suppressed"])
    assert all(g["count"] is None for g in hidden)
    if hidden:
        assert len(hidden) >= 2
        assert held >= 5
        assert held > len(hidden)


def as_json(breakdown: Breakdown) -> list[dict[str, Any]]:
    return [vars(g) for g in breakdown.groups]


# Small groups.


def test_four_cases_show_nothing_and_five_are_counted() -> None:
    reviews = Reviews()
    stories = [a_case(reviews, dsl_told=10, police=30) for _ in range(4)]

    four = stats_of(reviews, *stories)
    assert (four.cases.count, four.cases.suppressed) == (None, True)
    for breakdown in (four.by_month, four.by_school, four.by_classification):
        assert breakdown == Breakdown((), withheld=True)
    assert all(r.suppressed and r.rate is None for r in four.referral_rates.values())
    assert four.minutes_to_dsl_told.minutes is None
    assert four.minutes_to_referral.suppressed

    stories.append(a_case(reviews, dsl_told=10, police=30))
    five = stats_of(reviews, *stories)
    assert (five.cases.count, five.cases.suppressed) == (5, False)
    assert five.by_school.groups == (Group("OAK", 5, False),)
    assert five.referral_rates["police"].rate == 1.0
    assert five.minutes_to_dsl_told.minutes == 10.0
    assert five.minutes_to_referral.minutes == 30.0


def test_a_group_of_four_is_hidden_beside_a_group_of_five() -> None:
    reviews = Reviews()
    stories = [
        *(a_case(reviews, route="peer") for _ in range(5)),
        *(a_case(reviews, route="young_person") for _ in range(4)),
        a_case(reviews, route="anonymous"),
    ]
    stats = stats_of(reviews, *stories)
    assert stats.cases.count == 10
    assert counts(stats.by_disclosure_route) == {
        "anonymous": None,
        "peer": 5,
        "young_person": None,
    }
    assert_not_recoverable(as_json(stats.by_disclosure_route), 10)


def test_the_next_smallest_group_is_suppressed_too_beside_the_total() -> None:
    reviews = Reviews()
    sizes = {"OAK": 12, "YEW": 6, "ELM": 3}
    stories = [a_case(reviews, school) for school, n in sizes.items() for _ in range(n)]
    stats = stats_of(reviews, *stories)
    assert stats.cases.count == 21
    # ELM alone hidden would be 21 - 12 - 6 = 3: YEW, the next smallest, is hidden with it.
    assert counts(stats.by_school) == {"ELM": None, "OAK": 12, "YEW": None}
    assert_not_recoverable(as_json(stats.by_school), 21)


def test_groups_are_suppressed_until_the_hidden_ones_hold_five() -> None:
    reviews = Reviews()
    sizes = {"OAK": 10, "YEW": 6, "ELM": 2, "ASH": 1}
    stories = [a_case(reviews, school) for school, n in sizes.items() for _ in range(n)]
    stats = stats_of(reviews, *stories)
    # ELM and ASH together would be 19 - 16 = 3, a small group of its own.
    assert counts(stats.by_school) == {"ASH": None, "ELM": None, "OAK": 10, "YEW": None}
    assert_not_recoverable(as_json(stats.by_school), 19)


@pytest.mark.parametrize(
    ("sizes", "shown"),
    [
        ({"A": 3, "B": 3}, {"A": None, "B": None}),
        ({"A": 9, "B": 0}, {"A": 9}),
        ({"A": 4, "B": 6, "C": 6, "D": 7}, {"A": None, "B": None, "C": 6, "D": 7}),
        ({"A": 1, "B": 1, "C": 2, "D": 30}, {"A": None, "B": None, "C": None, "D": None}),
    ],
    ids=["both small", "zero unlisted", "ties by name", "everything hidden"],
)
def test_suppression_rules(sizes: dict[str, int], shown: dict[str, int | None]) -> None:
    breakdown = suppress(sizes)
    assert counts(breakdown) == shown
    assert_not_recoverable(as_json(breakdown), sum(sizes.values()))


def test_groups_that_would_give_their_counts_away_are_withheld() -> None:
    # Five groups of one beside a total of five: each could only be one.
    assert suppress(dict.fromkeys("ABCDE", 1)) == Breakdown((), withheld=True)
    # One group of four beside four others of one: listed, they hold 8 between 5 groups.
    assert not suppress({"A": 4, "B": 1, "C": 1, "D": 1, "E": 1}).withheld


# Rates and medians.


@pytest.mark.parametrize(
    ("done", "of", "expected"),
    [(5, 10, 0.5), (0, 10, 0.0), (10, 10, 1.0), (3, 10, None), (8, 10, None), (2, 4, None)],
)
def test_a_rate_is_shown_only_when_neither_side_is_a_small_group(
    done: int, of: int, expected: float | None
) -> None:
    assert rate(done, of).rate == expected
    assert rate(done, of).suppressed is (expected is None)


def test_referral_rates_over_the_cases_counted() -> None:
    reviews = Reviews()
    stories = [
        *(a_case(reviews, police=60) for _ in range(2)),
        *(a_case(reviews, police=60, ceop=90) for _ in range(3)),
        *(a_case(reviews) for _ in range(5)),
    ]
    rates = stats_of(reviews, *stories).referral_rates
    assert rates["police"].rate == 0.5
    assert rates["childrens_social_care"].rate == 0.0
    assert (rates["ceop"].rate, rates["ceop"].suppressed) == (None, True)


def test_median_minutes_to_the_dsl_told_and_to_a_referral() -> None:
    reviews = Reviews()
    stories = [
        a_case(reviews, dsl_told=5, police=60),
        a_case(reviews, dsl_told=10, police=90),
        a_case(reviews, dsl_told=15, care=30),
        a_case(reviews, dsl_told=20, care=120),
        # The first referral counts: social care at 45 minutes, before the police.
        a_case(reviews, police=200, care=45),
        a_case(reviews),
    ]
    # The DSL told at 30 minutes, then corrected to 12: the correction counts.
    corrected = stories[4]
    told(corrected, T0 + minutes(30), T0 + minutes(31))
    told(corrected, T0 + minutes(12), T0 + minutes(40), reason="Invented: time misremembered")
    told(corrected, T0 + minutes(300), T0 + minutes(301))  # told again later: not the first

    stats = stats_of(reviews, *stories)
    assert stats.minutes_to_dsl_told.minutes == 12.0  # of 5, 10, 12, 15, 20
    assert stats.minutes_to_referral.minutes == 60.0  # of 30, 45, 60, 90, 120
    assert median_of([1, 2, 3, 4]).suppressed
    assert median_of([1, 2, 3, 4, 10, 20]).minutes == 3.5


# Months.


def test_months_of_disclosure_in_the_trusts_time_zone_with_filters() -> None:
    reviews = Reviews()
    march = datetime(2026, 3, 10, 9, tzinfo=UTC)
    # 23:30 on 31 March UTC is 00:30 on 1 April in London (summer time began on 29 March).
    midnight = datetime(2026, 3, 31, 23, 30, tzinfo=UTC)
    april = datetime(2026, 4, 15, 9, tzinfo=UTC)
    stories = [a_case(reviews, at=at) for at in (march, midnight, april) for _ in range(5)]

    assert counts(stats_of(reviews, *stories, tz=LONDON).by_month) == {
        "2026-03": 5,
        "2026-04": 10,
    }
    assert counts(stats_of(reviews, *stories).by_month) == {"2026-03": 10, "2026-04": 5}
    from_april = stats_of(reviews, *stories, tz=LONDON, from_month="2026-04")
    assert (from_april.cases.count, counts(from_april.by_month)) == (10, {"2026-04": 10})
    to_march = stats_of(reviews, *stories, tz=LONDON, to_month="2026-03")
    assert (to_march.cases.count, counts(to_march.by_month)) == (5, {"2026-03": 5})
    assert stats_of(reviews, *stories, from_month="2026-05").cases.count == 0


def test_a_case_is_counted_from_its_disclosure_and_classified_as_in_force() -> None:
    reviews = Reviews()
    early = Story(reviews, reference="OAK-2026-0999")
    early.assessed(T0, action("police"))  # referral's message before intake's
    assert figures(reviews.case_view(early.case_id)) is None

    overridden = a_case(reviews)
    overridden.overridden(T0 + minutes(5), "aggravated", "youth_intent_to_harm")
    shown = figures(reviews.case_view(overridden.case_id))
    assert shown is not None
    assert (shown.classification, shown.month) == ("aggravated", "2026-11")


# Over HTTP.


def get_stats(client: TestClient, role: Role, schools: tuple[str, ...], **params: str) -> Any:
    tokens = client.app.state.tokens  # type: ignore[attr-defined]
    token = tokens.issue(f"{role}.stats", role, list(schools))
    return client.get("/stats", headers={"Authorization": f"Bearer {token}"}, params=params)


def test_each_school_sees_its_own_and_the_trust_sees_every_school(client: TestClient) -> None:
    reviews = reviews_of(client)
    for school, n in (("OAK", 6), ("ELM", 5)):
        for _ in range(n):
            a_case(reviews, school)

    def seen(role: Role, schools: tuple[str, ...], **params: str) -> dict[str, Any]:
        response = get_stats(client, role, schools, **params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        for name in ("by_month", "by_school", "by_classification", "by_disclosure_route"):
            assert_not_recoverable(body[name]["groups"], body["cases"]["count"])
        return {
            "schools": body["schools"],
            "cases": body["cases"]["count"],
            "by_school": {g["group"]: g["count"] for g in body["by_school"]["groups"]},
        }

    oak = {"schools": ["OAK"], "cases": 6, "by_school": {"OAK": 6}}
    # A school's DSL or head: their own school, asked for or not.
    assert seen(Role.DSL, ("OAK",)) == oak
    assert seen(Role.DSL, ("OAK",), school="OAK") == oak
    assert seen(Role.HEAD, ("OAK",)) == oak
    elsewhere = get_stats(client, Role.DSL, ("OAK",), school="ELM")
    assert (elsewhere.status_code, elsewhere.json()) == (404, {"detail": "no such school for you"})
    # An auditor: the schools of the token.
    assert seen(Role.AUDITOR, ("OAK",)) == oak
    # The trust lead: every school, or one.
    assert seen(Role.TRUST_LEAD, ("*",)) == {
        "schools": ["*"],
        "cases": 11,
        "by_school": {"ELM": 5, "OAK": 6},
    }
    assert seen(Role.TRUST_LEAD, ("*",), school="ELM")["cases"] == 5
    assert seen(Role.AUDITOR, ("*",))["cases"] == 11
    # Nobody else.
    assert get_stats(client, Role.STAFF, ("OAK",)).status_code == 403
    assert get_stats(client, Role.ADMIN, ("*",)).status_code == 403
    assert client.get("/stats").status_code == 401


def test_no_name_summary_reference_or_case_id_appears_and_no_case_is_read(
    client: TestClient,
) -> None:
    reviews = reviews_of(client)
    stories = [a_case(reviews, dsl_told=7, police=50) for _ in range(6)]
    pseudonyms = [f"YP-PERIWINKLE-{i}" for i in range(len(stories))]
    for story, pseudonym in zip(stories, pseudonyms, strict=True):
        story.publish("intake.young_person.recorded.v1", T0 + minutes(3), pseudonym=pseudonym)
        story.dsl("dsl.quillon", T0 + minutes(4))
        story.overridden(T0 + minutes(5), "aggravated", "youth_intent_to_harm")
    before = {s.case_id: reviews.case_view(s.case_id).version for s in stories}

    response = get_stats(client, Role.TRUST_LEAD, ("*",))
    assert response.status_code == 200, response.text
    assert response.json()["by_classification"]["groups"] == [
        {"group": "aggravated", "count": 6, "suppressed": False}
    ]
    text = response.text.lower()
    invented = [
        *pseudonyms,
        *(s.reference for s in stories),
        *(str(s.case_id) for s in stories),
        "kestrel",  # every summary
        "quillon",  # the DSL, and the person told
        "INV-INC-2026-0077",  # the police's reference
        "Invented Sergeant",  # whom the police referral was made to
        "threats were made",  # the override's reason
        "invented",
    ]
    assert [word for word in invented if word.lower() in text] == []
    # Statistics read no case: none of them records a read, or changes.
    for story in stories:
        view = reviews.case_view(story.case_id)
        assert (view.reads, view.version) == ([], before[story.case_id])


@pytest.mark.parametrize(
    "params",
    [{"from": "2026-05", "to": "2026-04"}, {"from": "2026-13"}, {"to": "April"}],
)
def test_months_are_checked(client: TestClient, params: dict[str, str]) -> None:
    assert get_stats(client, Role.TRUST_LEAD, ("*",), **params).status_code == 422


def test_months_filter_over_http(client: TestClient) -> None:
    reviews = reviews_of(client)
    for at in (datetime(2026, 3, 10, 9, tzinfo=UTC), datetime(2026, 4, 10, 9, tzinfo=UTC)):
        for _ in range(5):
            a_case(reviews, at=at)
    body = get_stats(client, Role.TRUST_LEAD, ("*",), **{"from": "2026-04", "to": "2026-04"})
    assert body.json()["cases"] == {"count": 5, "suppressed": False}
    assert body.json()["by_month"]["groups"] == [
        {"group": "2026-04", "count": 5, "suppressed": False}
    ]
    assert (body.json()["from_month"], body.json()["to_month"]) == ("2026-04", "2026-04")
    assert body.json()["timezone"] == "Europe/London"
