"""The DSL's and head's pages: the school's cases, overdue first, and a case page with the
policy's eight steps as a task list, the chronology as a timeline, the classification with the
facts that decided it, the required actions (each completed or declined here), closure and the
PDF export.

Every read and write goes to the services' HTTP APIs under the signed-in user's own name; a
refusal is shown as GOV.UK's error summary, naming each rule in the service's words.
"""

from __future__ import annotations

import asyncio
import typing
import uuid
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import RedirectResponse

from services.referral.domain.agencies import ActionCompleted
from services.review.domain.containment import CONTAINMENT
from services.web.clients import Refused, ServiceClients
from services.web.pages.common import CSRF, SignedIn, clients_of, render
from services.web.steps import STEP_TITLES, corrections, step_of, task_list
from services.web.wording import words
from shared.identity import Principal, Role

router = APIRouter(dependencies=[CSRF])
READERS = SignedIn(Role.DSL, Role.HEAD)
DECIDERS = SignedIn(*(Role(r) for r in ActionCompleted.RECORDED_BY))
Reader = Annotated[Principal, Depends(READERS)]
Decider = Annotated[Principal, Depends(DECIDERS)]

HOW_DONE: tuple[str, ...] = typing.get_args(typing.get_type_hints(ActionCompleted)["how"])
"""How an action may be done, as the declaration of step 6 says."""

FILTERS = {
    "open": "Open",
    "closed": "Closed",
    "all": "All",
}


def _urgency(case: dict[str, Any]) -> tuple[int, int, str]:
    return (-case["overdue_actions"], -int(case["review_overdue"]), case["reference"])


@router.get("/cases")
async def case_list(
    request: Request,
    principal: Reader,
    status: str = "open",
    overdue: str = "",
    school: str = "",
) -> Response:
    """The school's cases, those with overdue actions first; the overdue actions above."""
    clients = clients_of(request)
    listed, late = await asyncio.gather(
        clients.get(principal, "review", "/cases", params={"school": school}),
        clients.get(principal, "review", "/overdue", params={"school": school}),
    )
    cases = listed["cases"]
    if status in ("open", "closed"):
        wanted = ("open", "reopened") if status == "open" else ("closed",)
        cases = [c for c in cases if c["status"] in wanted]
    if overdue:
        cases = [c for c in cases if c["overdue_actions"] or c["review_overdue"]]
    cases.sort(key=_urgency)
    return render(
        request,
        "cases.html",
        cases=cases,
        overdue=late["overdue"],
        status=status if status in FILTERS else "open",
        only_overdue=bool(overdue),
        school=school,
        schools=listed["schools"],
        filters=FILTERS,
        words=words,
    )


async def _case(clients: ServiceClients, principal: Principal, case_id: UUID) -> dict[str, Any]:
    """What the three services hold of the case, read at once."""
    path = f"/cases/{case_id}"
    review, intake, referral, triage = await asyncio.gather(
        clients.get(principal, "review", path),
        clients.get(principal, "intake", path),
        _or_none(clients.get(principal, "referral", path)),
        clients.get(principal, "intake", f"{path}/triage"),
    )
    return {"review": review, "intake": intake, "referral": referral, "triage": triage}


async def _or_none(call: typing.Awaitable[Any]) -> Any:
    """Referral may not have the case yet (its first assessment is on its way)."""
    try:
        return await call
    except Refused as e:
        if e.status == 404:
            return None
        raise


@router.get("/cases/{case_id}")
async def case_page(request: Request, case_id: UUID, principal: Reader, done: str = "") -> Response:
    """The case: its steps, chronology, classification, actions, review and closure."""
    case = await _case(clients_of(request), principal, case_id)
    review = case["review"]
    entries = [e for e in review["entries"] if e["kind"] != "case_read"]
    return render(
        request,
        "case.html",
        case_id=case_id,
        review=review,
        intake=case["intake"],
        referral=case["referral"],
        triage=case["triage"][-1] if case["triage"] else None,
        steps=task_list(review, case["referral"], case["triage"]),
        entries=entries,
        corrects=corrections(entries),
        step_titles=STEP_TITLES,
        step_of=step_of,
        step_7=[(k.ROUTE, words(k.KIND)) for k in CONTAINMENT],
        done=done,
        words=words,
    )


@router.post("/cases/{case_id}/take")
async def take_case(request: Request, case_id: UUID, principal: Decider) -> Response:
    """Step 4: the DSL takes the case."""
    await clients_of(request).post(
        principal,
        "intake",
        f"/cases/{case_id}/dsl",
        json={"dsl": principal.user},
        headers={"Idempotency-Key": f"take:{principal.user}:{case_id}"},
    )
    return RedirectResponse(f"/cases/{case_id}?done=taken", status_code=303)


async def _action(
    request: Request, principal: Principal, case_id: UUID, action: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    referral = await clients_of(request).get(principal, "referral", f"/cases/{case_id}")
    for found in referral["actions"]:
        if found["action"] == action:
            return referral, found
    raise Refused(404, {"": "no such action on this case"})


@router.get("/cases/{case_id}/actions/{action}")
async def action_page(request: Request, case_id: UUID, action: str, principal: Decider) -> Response:
    """One required action: record it done (how, with whom, their reference), or declined
    with the written reason where the policy allows."""
    referral, found = await _action(request, principal, case_id, action)
    return _action_form(request, case_id, referral, found, {}, {})


def _action_form(
    request: Request,
    case_id: UUID,
    referral: dict[str, Any],
    action: dict[str, Any],
    errors: dict[str, str],
    sent: dict[str, str],
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "action.html",
        status_code,
        case_id=case_id,
        referral=referral,
        action=action,
        errors=errors,
        sent=sent,
        how_items=[
            {"value": how, "text": words(how), "checked": sent.get("how") == how}
            for how in HOW_DONE
        ],
        key=sent.get("idempotency_key") or str(uuid.uuid4()),
        words=words,
    )


@router.post("/cases/{case_id}/actions/{action}")
async def record_action(
    request: Request,
    case_id: UUID,
    action: str,
    principal: Decider,
    decision: Annotated[str, Form(max_length=20)] = "",
    how: Annotated[str, Form(max_length=40)] = "",
    whom: Annotated[str, Form(max_length=500)] = "",
    their_reference: Annotated[str, Form(max_length=500)] = "",
    reason: Annotated[str, Form(max_length=5000)] = "",
    idempotency_key: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Completes or declines the action; a refusal is shown naming each rule."""
    referral, found = await _action(request, principal, case_id, action)
    sent = {
        "decision": decision,
        "how": how,
        "whom": whom,
        "their_reference": their_reference,
        "reason": reason,
        "idempotency_key": idempotency_key,
    }
    errors: dict[str, str] = {}
    if decision == "completed":
        if how not in HOW_DONE:
            errors["how"] = "Select how it was done"
        if not whom.strip():
            errors["whom"] = "Enter whom you dealt with (name and role)"
        body: dict[str, Any] = {"action": action, "how": how, "whom": whom.strip()}
        if their_reference.strip():
            body["their_reference"] = their_reference.strip()
    elif decision == "declined":
        if not reason.strip():
            errors["reason"] = "Enter the reason it is not done: the policy needs it written"
        body = {"action": action, "reason": reason.strip()}
    else:
        errors["decision"] = "Select whether it was done or is declined"
        body = {}
    if not errors:
        try:
            await clients_of(request).post(
                principal,
                "referral",
                f"/cases/{case_id}/actions/{decision}",
                json=body,
                headers={"Idempotency-Key": idempotency_key or str(uuid.uuid4())},
            )
        except Refused as e:
            if e.status not in (409, 422):
                raise
            errors = {("reason" if k == "" else k): v for k, v in e.problems.items()}
    if errors:
        return _action_form(request, case_id, referral, found, errors, sent, 400)
    return RedirectResponse(f"/cases/{case_id}?done={action}#step-6", status_code=303)


@router.get("/cases/{case_id}/close")
async def check_closure(request: Request, case_id: UUID, principal: Decider) -> Response:
    """Check your answers before closing: what is recorded, and that closing is final until
    the case is reopened."""
    case = await _case(clients_of(request), principal, case_id)
    return render(
        request,
        "close.html",
        case_id=case_id,
        review=case["review"],
        referral=case["referral"],
        refusals=[],
        key=str(uuid.uuid4()),
        words=words,
    )


MISSING_WHERE = {
    "no_review_recorded": "#step-8",
}


def _where(case_id: UUID, reason: dict[str, Any]) -> str:
    """Where the thing a refused closure misses is done."""
    if reason.get("action"):
        return f"/cases/{case_id}/actions/{reason['action']}"
    return f"/cases/{case_id}{MISSING_WHERE.get(reason.get('rule', ''), '')}"


@router.post("/cases/{case_id}/close")
async def close(
    request: Request,
    case_id: UUID,
    principal: Decider,
    idempotency_key: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Step 8: close the case; a refusal lists what is missing, each a link to where it is
    done."""
    clients = clients_of(request)
    answer = await clients.call(
        principal,
        "review",
        "POST",
        f"/cases/{case_id}/closure",
        json={},
        headers={"Idempotency-Key": idempotency_key or str(uuid.uuid4())},
        refused_as_answer=True,
    )
    if answer.status_code < 300:
        return RedirectResponse(f"/cases/{case_id}?done=closed", status_code=303)
    detail = answer.json().get("detail", {})
    if answer.status_code != 422 or not isinstance(detail, dict):
        raise Refused(answer.status_code, {"": str(detail)})
    case = await _case(clients, principal, case_id)
    refusals = [{"text": r["msg"], "href": _where(case_id, r)} for r in detail.get("reasons", [])]
    return render(
        request,
        "close.html",
        400,
        case_id=case_id,
        review=case["review"],
        referral=case["referral"],
        refusals=refusals,
        key=str(uuid.uuid4()),
        words=words,
    )


@router.get("/cases/{case_id}/export.pdf")
async def export_pdf(request: Request, case_id: UUID, principal: Reader) -> Response:
    """The case's history as a PDF, made by review (which records the export as a read)."""
    answer = await clients_of(request).call(
        principal, "review", "GET", f"/cases/{case_id}/export.pdf"
    )
    disposition = answer.headers.get("Content-Disposition", 'attachment; filename="case.pdf"')
    return Response(
        answer.content,
        media_type="application/pdf",
        headers={"Content-Disposition": disposition},
    )
