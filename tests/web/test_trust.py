"""The trust lead's pages: statistics drawn as SVG on the server, small groups suppressed and
never drawn to scale; overdue actions across the trust; nobody else gets in."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from services.web.charts import charts_of
from shared.identity import Role
from tests.web.stack import Stack

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def trust_lead(stack: Stack) -> Iterator[TestClient]:
    with stack.signed_in("lead@trust.example", Role.TRUST_LEAD, ["*"]) as client:
        yield client


def test_the_trust_lead_sees_the_trust_s_figures_as_charts(
    stack: Stack, trust_lead: TestClient
) -> None:
    # 7 cases at Oak, 6 at Elm, 2 at Ash: Ash's two are suppressed, and so is Elm (the
    # smallest next), or Ash's would be the total less Oak's.
    for school, cases in (("OAK", 7), ("ELM", 6), ("ASH", 2)):
        for i in range(cases):
            answer = stack.api(
                "intake",
                "POST",
                "/cases",
                Role.STAFF,
                [school],
                json={"school": school, "disclosure_route": "peer", "summary": f"Invented {i}"},
            )
            assert answer.status_code == 201

    def counted() -> bool:
        stats = stack.api("review", "GET", "/stats", Role.TRUST_LEAD, ["*"]).json()
        return bool(stats["cases"]["count"] == 15)

    stack.wait_for(counted)
    page = trust_lead.get("/trust")
    assert page.status_code == 200, page.text
    stats = stack.api("review", "GET", "/stats", Role.TRUST_LEAD, ["*"]).json()
    drawn = re.findall(r"<svg\b.*?</svg>", page.text, re.S)
    assert len(drawn) == sum(not c.withheld for c in charts_of(stats))
    assert drawn, page.text
    for svg in drawn:
        ET.fromstring(svg)  # noqa: S314 (our own page)
    by_school = next(svg for svg in drawn if "Cases by school" in svg)
    assert ">OAK<" in by_school
    assert ">7<" in by_school
    assert by_school.count(">Suppressed<") == 2
    assert ">2<" not in by_school
    assert ">6<" not in by_school


def test_overdue_actions_across_the_trust_and_nobody_else_gets_in(
    stack: Stack, trust_lead: TestClient
) -> None:
    page = trust_lead.get("/trust/overdue")
    assert page.status_code == 200
    assert "Overdue actions across the trust" in page.text
    with stack.signed_in("dsl@oak.example", Role.DSL, ["OAK"]) as dsl:
        assert dsl.get("/trust").status_code == 403
        assert dsl.get("/trust/overdue").status_code == 403
