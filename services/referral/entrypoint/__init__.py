"""Referral's HTTP API (policy steps 5-6): the DSL reads what the policy requires of a case and
by when (:mod:`.cases`), and records each decision (:mod:`.decisions`): an action done or
declined with its reason, the classification overridden, the risk assessment, safeguards, the
police's outcome; oversight lists what is overdue across the trust (:mod:`.oversight`).

Run it with ``safeguard serve referral``; OpenAPI at ``/docs``.
"""

from __future__ import annotations

from fastapi import FastAPI

from services.referral.adapters.contracts import PUBLISHED, to_contract
from services.referral.application import Referrals
from services.referral.entrypoint import cases, decisions, oversight
from services.referral.entrypoint.common import router
from services.referral.entrypoint.followups import BACKGROUND
from shared.runtime import ServiceSpec, create_http_app
from shared.settings import Settings

__all__ = ["SPEC", "cases", "create_app", "decisions", "oversight", "router"]

SPEC = ServiceSpec(
    name="referral",
    application=Referrals,
    to_contract=to_contract,
    published=PUBLISHED,
    upstreams=("intake",),
    # Delivers notices to the trust's recipients and escalates overdue actions.
    background=BACKGROUND,
    description="Policy steps 5-6: assessment, required actions, notifications, decisions.",
)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The referral service's HTTP app."""
    return create_http_app(SPEC, settings or Settings(), router)
