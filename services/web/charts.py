"""The trust's statistics as bar charts drawn on the server: SVG built with ElementTree (every
text escaped by it), no script, no style attribute (the pages' CSP allows none), no CDN.

A suppressed group (fewer cases than the minimum group) is drawn as an empty outline with the
word "Suppressed", never a number and never a bar whose length would give its size away. Each
chart comes with the same figures as rows, for the table beside it.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from markupsafe import Markup

from services.web.wording import words

BAR = "#1d70b8"  # GOV.UK blue: 5.2:1 against white, beyond the 3:1 a graphic needs
TEXT = "#0b0c0c"  # GOV.UK black
OUTLINE = "#505a5f"  # GOV.UK dark grey: 7:1
LABEL_WIDTH = 220
BAR_WIDTH = 360
ROW = 32
SUPPRESSED = "Suppressed"

BREAKDOWNS = {
    "by_month": "Cases by month of disclosure",
    "by_school": "Cases by school",
    "by_classification": "Cases by classification",
    "by_disclosure_route": "Cases by how the school came to know",
}
"""The breakdowns of review's statistics answer drawn as charts, with their titles."""


@dataclass(frozen=True)
class Chart:
    """One chart: its title, its SVG (safe to put in a page), and its figures as rows."""

    id: str
    title: str
    svg: Markup
    rows: list[tuple[str, str]]
    withheld: bool


def _label(name: str, group: str) -> str:
    return group if name in ("by_month", "by_school") else words(group)


# What XML 1.0 cannot hold at all, escaped or not: ElementTree would write it as it is, and the
# SVG would no longer parse. A school's code is not checked against a pattern where it is made.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _drawable(text: str) -> str:
    """``text`` with any character XML cannot hold replaced by U+FFFD."""
    return _NOT_XML.sub("\ufffd", text)


def _text(parent: ET.Element, x: int, y: int, content: str, *, anchor: str = "start") -> None:
    attributes = {"x": str(x), "y": str(y), "text-anchor": anchor, "fill": TEXT, "font-size": "16"}
    ET.SubElement(parent, "text", attributes).text = _drawable(content)


def bar_chart(
    chart_id: str, title: str, groups: list[dict[str, Any]], label: Callable[[str], str]
) -> Chart:
    """A horizontal bar per group (``groups`` as in review's ``BreakdownOut``), its length in
    proportion to the largest count shown; ``label`` gives a group's name in words."""
    shown = [g["count"] for g in groups if not g["suppressed"] and g["count"] is not None]
    largest = max(shown, default=0) or 1
    height = max(1, len(groups)) * ROW + 8
    width = LABEL_WIDTH + BAR_WIDTH + 60
    rows = [
        (
            label(g["group"]),
            SUPPRESSED if g["suppressed"] or g["count"] is None else str(int(g["count"])),
        )
        for g in groups
    ]
    svg = ET.Element(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "role": "img",
            "viewBox": f"0 0 {width} {height}",
            "width": "100%",
            "aria-labelledby": f"{chart_id}-title {chart_id}-desc",
            "class": "app-chart",
        },
    )
    # The title, then the description, before the bars: where a screen reader looks for them.
    ET.SubElement(svg, "title", {"id": f"{chart_id}-title"}).text = _drawable(title)
    ET.SubElement(svg, "desc", {"id": f"{chart_id}-desc"}).text = _drawable(
        "; ".join(f"{name}: {figure.lower()}" for name, figure in rows) or "No cases"
    )
    for i, (name, figure) in enumerate(rows):
        y = i * ROW + 4
        _text(svg, LABEL_WIDTH - 8, y + 20, name, anchor="end")
        if figure == SUPPRESSED:
            # The full width whatever the group's size: an outline says nothing of its count.
            ET.SubElement(
                svg,
                "rect",
                {
                    "x": str(LABEL_WIDTH),
                    "y": str(y + 4),
                    "width": str(BAR_WIDTH),
                    "height": str(ROW - 10),
                    "fill": "none",
                    "stroke": OUTLINE,
                    "stroke-dasharray": "4 3",
                },
            )
            _text(svg, LABEL_WIDTH + 8, y + 20, SUPPRESSED)
            continue
        length = max(round(BAR_WIDTH * int(figure) / largest), 1)
        ET.SubElement(
            svg,
            "rect",
            {
                "x": str(LABEL_WIDTH),
                "y": str(y + 4),
                "width": str(length),
                "height": str(ROW - 10),
                "fill": BAR,
            },
        )
        _text(svg, LABEL_WIDTH + length + 6, y + 20, figure)
    # ElementTree escaped every text and attribute it wrote: the SVG holds no markup of ours.
    drawn = Markup(ET.tostring(svg, encoding="unicode"))  # noqa: S704
    return Chart(chart_id, title, drawn, rows, False)


def charts_of(stats: dict[str, Any]) -> list[Chart]:
    """A chart per breakdown of review's ``GET /stats`` answer; a breakdown withheld (its
    groups would give their counts away) is a chart with no bars that says so."""
    charts = []
    for name, title in BREAKDOWNS.items():
        breakdown = stats.get(name)
        if breakdown is None:
            continue
        chart_id = name.replace("_", "-")
        if breakdown["withheld"]:
            charts.append(Chart(chart_id, title, Markup(""), [], True))
            continue
        charts.append(bar_chart(chart_id, title, breakdown["groups"], partial(_label, name)))
    return charts
