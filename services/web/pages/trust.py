"""The trust lead's pages: statistics across the schools, drawn as charts on the server (SVG,
with a table of the same figures), small groups shown as suppressed; and the overdue actions
across the trust, longest overdue first. Nothing here names a young person."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from services.web.charts import charts_of
from services.web.pages.common import CSRF, SignedIn, clients_of, render
from services.web.wording import words
from shared.identity import Principal, Role

router = APIRouter(dependencies=[CSRF])
TrustLead = Annotated[Principal, Depends(SignedIn(Role.TRUST_LEAD))]


@router.get("/trust")
async def statistics(
    request: Request, principal: TrustLead, school: str = "", since: str = "", until: str = ""
) -> Response:
    """The trust's figures, by month, school, classification and route of disclosure."""
    stats = await clients_of(request).get(
        principal,
        "review",
        "/stats",
        params={"school": school, "from": since, "to": until},
    )
    return render(
        request,
        "trust.html",
        stats=stats,
        charts=charts_of(stats),
        school=school,
        words=words,
    )


@router.get("/trust/overdue")
async def overdue(request: Request, principal: TrustLead) -> Response:
    """Every action past its deadline across the trust's schools, longest overdue first."""
    late = await clients_of(request).get(principal, "review", "/overdue")
    return render(request, "trust_overdue.html", late=late, words=words)
