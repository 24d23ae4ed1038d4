"""The trust's statistics as SVG bar charts (services/web/charts.py), drawn from answers review's
own ``GET /stats`` gives for invented cases, so that a change to the answer's shape breaks
these tests: a chart per breakdown, bars to scale, a suppressed group never drawn to scale nor
numbered, every label escaped, no style anywhere, colours that meet WCAG 2.2 AA."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from typing import Any, get_type_hints

import pytest
from fastapi.testclient import TestClient

from services.review.entrypoint import create_app
from services.review.entrypoint.stats import BreakdownOut, StatisticsOut
from services.web.charts import BREAKDOWNS, SUPPRESSED, Chart, charts_of
from shared.identity import Role
from tests.conftest import StoreChoice
from tests.review.conftest import reviews_of
from tests.review.test_stats import a_case, get_stats

SVG = "{http://www.w3.org/2000/svg}"
WHITE = "#ffffff"

Answer = dict[str, Any]


@pytest.fixture
def review(store: StoreChoice) -> Iterator[TestClient]:
    """Review's HTTP app on the test's store, as the web process reaches it."""
    with TestClient(create_app(store.settings())) as client:
        yield client


@pytest.fixture
def stats_for(review: TestClient) -> Callable[..., Answer]:
    """Review's answer to the trust lead once ``cases`` (school: [route, ...]) are disclosed."""

    def answer(cases: dict[str, list[str]]) -> Answer:
        reviews = reviews_of(review)
        for school, routes in cases.items():
            for route in routes:
                a_case(reviews, school, route=route)
        response = get_stats(review, Role.TRUST_LEAD, ("*",))
        assert response.status_code == 200, response.text
        body: Answer = response.json()
        return body

    return answer


# Oak 10 and Yew 5 shown; Elm's 3 and Ash's 3 suppressed (together 6, so neither follows from
# the total of 21). By route: 12 by peers shown; 6 by young people and 3 anonymous suppressed.
TRUST = {
    "OAK": ["peer"] * 10,
    "YEW": ["young_person"] * 5,
    "ELM": ["peer", "peer", "anonymous"],
    "ASH": ["young_person", "anonymous", "anonymous"],
}


@pytest.fixture
def trust(stats_for: Callable[..., Answer]) -> Answer:
    return stats_for(TRUST)


def drawn(chart: Chart) -> ET.Element:
    """The chart's SVG, parsed: it must be well-formed XML to get here."""
    return ET.fromstring(str(chart.svg))  # noqa: S314 (our own output, under test)


def chart_of(answer: Answer, title: str) -> Chart:
    return next(c for c in charts_of(answer) if c.title == title)


def texts(svg: ET.Element) -> list[str]:
    return [t.text or "" for t in svg.iter(f"{SVG}text")]


def bars(svg: ET.Element) -> list[ET.Element]:
    return [r for r in svg.iter(f"{SVG}rect") if r.get("fill") != "none"]


def outlines(svg: ET.Element) -> list[ET.Element]:
    return [r for r in svg.iter(f"{SVG}rect") if r.get("fill") == "none"]


def test_a_chart_for_each_breakdown_review_answers_with(trust: Answer) -> None:
    breakdowns = [
        name for name, kind in get_type_hints(StatisticsOut).items() if kind is BreakdownOut
    ]
    assert breakdowns == ["by_month", "by_school", "by_classification", "by_disclosure_route"]
    assert list(BREAKDOWNS) == breakdowns  # a new breakdown in review needs its chart here
    assert [(c.title, c.withheld) for c in charts_of(trust)] == [
        (BREAKDOWNS[name], False) for name in breakdowns
    ]


def test_bars_scale_with_their_counts(trust: Answer) -> None:
    chart = chart_of(trust, "Cases by school")
    svg = drawn(chart)
    # In the order of the groups' names, as review lists them: Ash, Elm, Oak, Yew.
    assert [int(b.get("width", "")) for b in bars(svg)] == [360, 180]  # Oak 10, Yew 5
    assert texts(svg) == ["ASH", SUPPRESSED, "ELM", SUPPRESSED, "OAK", "10", "YEW", "5"]
    assert chart.rows == [("ASH", SUPPRESSED), ("ELM", SUPPRESSED), ("OAK", "10"), ("YEW", "5")]

    routes = drawn(chart_of(trust, "Cases by how the school came to know"))
    assert texts(routes) == ["Anonymous", SUPPRESSED, "Peer", "12", "Young person", SUPPRESSED]
    assert [int(b.get("width", "")) for b in bars(routes)] == [360]


def test_a_suppressed_group_is_an_outline_the_full_width_with_no_number(trust: Answer) -> None:
    chart = chart_of(trust, "Cases by school")
    svg = drawn(chart)
    hidden = outlines(svg)
    assert len(hidden) == 2  # Ash and Elm
    # Each the same, the full width whatever its size: nothing in the drawing tells 3 from 4.
    assert {(r.get("width"), r.get("height")) for r in hidden} == {("360", "22")}
    assert {r.get("stroke") for r in hidden} == {"#505a5f"}
    described = svg.find(f"{SVG}desc")
    assert described is not None
    assert described.text == "ASH: suppressed; ELM: suppressed; OAK: 10; YEW: 5"
    # Their counts (3 each, 6 together) appear nowhere: not in a text, a row or the desc.
    everything = " ".join([*texts(svg), described.text, *(v for _, v in chart.rows)])
    assert "3" not in everything
    assert "6" not in everything


def test_every_label_is_escaped(trust: Answer) -> None:
    hostile = '<script>alert("x")</script><rect width="9999"/>&amp;'
    trust["by_school"]["groups"][0]["group"] = hostile
    chart = chart_of(trust, "Cases by school")
    text = str(chart.svg)
    assert "<script" not in text
    assert "&lt;script&gt;" in text
    assert "&amp;amp;" in text
    svg = drawn(chart)  # still well-formed
    assert svg.find(f".//{SVG}script") is None
    assert texts(svg)[0] == hostile  # drawn as the words it is
    assert chart.rows[0] == (hostile, SUPPRESSED)  # the template's autoescape escapes rows


def test_a_character_xml_cannot_hold_does_not_break_the_svg(trust: Answer) -> None:
    trust["by_school"]["groups"][0]["group"] = "ASH\x00\x0b"
    chart = chart_of(trust, "Cases by school")
    svg = drawn(chart)  # ElementTree alone would have written both, and this would not parse
    assert texts(svg)[0] == "ASH\ufffd\ufffd"


def test_each_chart_is_an_image_named_by_its_title_and_desc_with_no_style(
    trust: Answer,
) -> None:
    for chart in charts_of(trust):
        svg = drawn(chart)
        assert svg.tag == f"{SVG}svg"
        assert svg.get("role") == "img"
        title = svg.find(f"{SVG}title")
        desc = svg.find(f"{SVG}desc")
        assert title is not None
        assert desc is not None
        assert title.text == chart.title
        assert svg.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
        # The title first, then the desc: where a screen reader looks for them.
        assert list(svg)[:2] == [title, desc]
        for element in svg.iter():
            assert element.tag not in (f"{SVG}style", f"{SVG}script", f"{SVG}foreignObject")
            assert "style" not in element.attrib
            assert not any(name.startswith("on") for name in element.attrib)
        assert "style" not in str(chart.svg)


def contrast(colour: str, against: str = WHITE) -> float:
    """WCAG 2.2's contrast ratio of two sRGB colours written #rrggbb."""

    def luminance(hex_colour: str) -> float:
        channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    lighter, darker = sorted((luminance(colour), luminance(against)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_colours_meet_wcag_aa_against_the_white_page(trust: Answer) -> None:
    for chart in charts_of(trust):
        svg = drawn(chart)
        for text in svg.iter(f"{SVG}text"):
            assert contrast(text.get("fill", "")) >= 4.5  # text
        for rect in svg.iter(f"{SVG}rect"):
            paint = rect.get("stroke") if rect.get("fill") == "none" else rect.get("fill")
            assert contrast(paint or "") >= 3  # a graphic that carries meaning


def test_fewer_than_five_cases_withhold_every_breakdown(
    stats_for: Callable[..., Answer],
) -> None:
    answer = stats_for({"OAK": ["peer"] * 4})
    assert answer["cases"] == {"count": None, "suppressed": True}
    charts = charts_of(answer)
    assert len(charts) == len(BREAKDOWNS)
    for chart in charts:
        assert (chart.withheld, str(chart.svg), chart.rows) == (True, "", [])


def test_no_cases_draw_charts_with_no_bars(stats_for: Callable[..., Answer]) -> None:
    answer = stats_for({})
    assert answer["cases"] == {"count": 0, "suppressed": False}
    for chart in charts_of(answer):
        svg = drawn(chart)
        assert (bars(svg), outlines(svg), chart.rows) == ([], [], [])
        desc = svg.find(f"{SVG}desc")
        assert desc is not None
        assert desc.text == "No cases"


def test_the_same_answer_draws_the_same_charts(trust: Answer) -> None:
    assert charts_of(trust) == charts_of(trust)
