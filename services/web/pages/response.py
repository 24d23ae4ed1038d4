"""Step 5 for the DSL: the risk assessment, its factors and choices read from the declaration
(:class:`RiskAssessed` and its :class:`RiskFactors`), never retyped here."""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from services.referral.domain.response import RiskAssessed, RiskFactors
from services.web.clients import Refused
from services.web.entry_forms import entry_form, parts_form
from services.web.pages.cases import Decider
from services.web.pages.common import CSRF, clients_of, render

router = APIRouter(dependencies=[CSRF])
FACTORS = parts_form(RiskFactors)
CONCLUSION = entry_form(RiskAssessed, leave_out=("factors",))


def _page(
    request: Request,
    case_id: UUID,
    referral: dict[str, Any],
    sent: dict[str, Any],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "risk.html",
        status_code,
        case_id=case_id,
        referral=referral,
        factors=FACTORS,
        conclusion=CONCLUSION,
        sent=sent,
        errors=errors,
        error_links=FACTORS.error_links(errors) + CONCLUSION.error_links(errors),
        key=sent.get("idempotency_key") or str(uuid.uuid4()),
    )


@router.get("/cases/{case_id}/risk-assessment")
async def risk_page(request: Request, case_id: UUID, principal: Decider) -> Response:
    referral = await clients_of(request).get(principal, "referral", f"/cases/{case_id}")
    return _page(request, case_id, referral, {}, {})


@router.post("/cases/{case_id}/risk-assessment")
async def record_risk(request: Request, case_id: UUID, principal: Decider) -> Response:
    form = await request.form()
    clients = clients_of(request)
    referral = await clients.get(principal, "referral", f"/cases/{case_id}")
    factors, concluded = FACTORS.read(form), CONCLUSION.read(form)
    sent: dict[str, Any] = {
        **factors.values,
        **concluded.values,
        "idempotency_key": str(form.get("idempotency_key", "")),
    }
    errors = factors.errors | concluded.errors
    if not errors:
        try:
            await clients.post(
                principal,
                "referral",
                f"/cases/{case_id}/risk-assessments",
                json={"factors": factors.body, **concluded.body},
                headers={"Idempotency-Key": sent.get("idempotency_key") or str(uuid.uuid4())},
            )
        except Refused as e:
            if e.status not in (409, 422):
                raise
            errors = {(k.removeprefix("factors.") or "reasons"): v for k, v in e.problems.items()}
    if errors:
        return _page(request, case_id, referral, sent, errors, 400)
    return RedirectResponse(f"/cases/{case_id}?done=risk_assessment#step-5", status_code=303)
