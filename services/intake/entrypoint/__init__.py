"""Intake's HTTP API: staff record disclosures; the DSL and head see their school's cases.

Run it with ``safeguard serve intake``; OpenAPI at ``/docs``.
"""

from __future__ import annotations

from fastapi import FastAPI

from services.intake.adapters.contracts import PUBLISHED, to_contract
from services.intake.application import Intake
from services.intake.entrypoint import cases, entries, image, triage, young_people
from services.intake.entrypoint.cases import CaseOut, DisclosureIn
from services.intake.entrypoint.common import router
from services.intake.entrypoint.triage import TriageIn
from shared.runtime import ServiceSpec, create_http_app
from shared.settings import Settings

__all__ = [
    "SPEC",
    "CaseOut",
    "DisclosureIn",
    "TriageIn",
    "cases",
    "create_app",
    "entries",
    "image",
    "router",
    "triage",
    "young_people",
]

SPEC = ServiceSpec(
    name="intake",
    application=Intake,
    to_contract=to_contract,
    published=PUBLISHED,
    # Referral's decisions tell intake when another agency is brought in (step 3's deletion).
    upstreams=("referral",),
    description="Policy steps 1-4: disclosures, triage, device search, the image, the DSL.",
)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The intake service's HTTP app."""
    return create_http_app(SPEC, settings or Settings(), router)
