"""Review's HTTP API (policy steps 7-8, and audit): each case's chronology and views, for its
school's DSL and head and for auditors; containment, review and closure; exports; the trust's
statistics without names.

Run it with ``safeguard serve review``; OpenAPI at ``/docs``.
"""

from __future__ import annotations

from fastapi import FastAPI

from services.review.adapters.contracts import PUBLISHED, to_contract
from services.review.application import Reviews
from services.review.entrypoint import cases, exports, stats, steps
from services.review.entrypoint.common import router
from shared.runtime import ServiceSpec, create_http_app
from shared.settings import Settings

__all__ = ["SPEC", "cases", "create_app", "exports", "router", "stats", "steps"]

SPEC = ServiceSpec(
    name="review",
    application=Reviews,
    to_contract=to_contract,
    published=PUBLISHED,
    upstreams=("intake", "referral"),
    description="Policy steps 7-8: containment, review, closure; chronology and audit.",
)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The review service's HTTP app."""
    return create_http_app(SPEC, settings or Settings(), router)
