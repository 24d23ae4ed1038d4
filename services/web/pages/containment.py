"""Steps 7 and 8 for the DSL: review's own entries (support given, staff informed, the
conversation with parents, an education session, removal help, the site's removal; the review of
outcomes and procedures), each form read from its declaration (:class:`OwnKind` dataclasses).
A young person is chosen from the case's own pseudonyms, never typed."""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from services.review.domain.containment import CONTAINMENT
from services.review.domain.own_entries import OwnKind
from services.review.domain.review_and_closure import ReviewRecorded
from services.web.clients import Refused
from services.web.entry_forms import Choice, EntryForm, entry_form
from services.web.pages.cases import Decider
from services.web.pages.common import CSRF, clients_of, render
from services.web.wording import words

router = APIRouter(dependencies=[CSRF])
_RECORDED_HERE: tuple[type[OwnKind], ...] = (*CONTAINMENT, ReviewRecorded)
KINDS: dict[str, type[OwnKind]] = {kind.ROUTE: kind for kind in _RECORDED_HERE}
"""Review's own kinds of entry the DSL records here, by route."""


def title(kind: type[OwnKind]) -> str:
    return words(kind.KIND)


def form_of(kind: type[OwnKind], pseudonyms: list[str]) -> EntryForm:
    """The kind's form, its young person chosen from the case's own."""
    return entry_form(kind).choosing("pseudonym", [Choice(p, p) for p in pseudonyms])


async def _kind_and_case(
    request: Request, principal: Any, case_id: UUID, route: str
) -> tuple[type[OwnKind], dict[str, Any], EntryForm]:
    kind = KINDS.get(route)
    if kind is None:
        raise Refused(404, {"": "no such kind of entry"})
    case = await clients_of(request).get(principal, "intake", f"/cases/{case_id}")
    pseudonyms = [p["pseudonym"] for p in case["young_people"]]
    return kind, case, form_of(kind, pseudonyms)


def _page(
    request: Request,
    case_id: UUID,
    kind: type[OwnKind],
    case: dict[str, Any],
    form: EntryForm,
    sent: dict[str, Any],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "own_entry.html",
        status_code,
        case_id=case_id,
        route=kind.ROUTE,
        step=kind.STEP,
        heading=title(kind),
        about=(kind.__doc__ or "").split("\n\n")[0].replace("\n", " "),
        reference=case["reference"],
        form=form,
        sent=sent,
        errors=errors,
        error_links=form.error_links(errors),
        key=sent.get("idempotency_key") or str(uuid.uuid4()),
    )


@router.get("/cases/{case_id}/record/{route}")
async def own_entry_page(
    request: Request, case_id: UUID, route: str, principal: Decider
) -> Response:
    kind, case, form = await _kind_and_case(request, principal, case_id, route)
    return _page(request, case_id, kind, case, form, {}, {})


@router.post("/cases/{case_id}/record/{route}")
async def record_own_entry(
    request: Request, case_id: UUID, route: str, principal: Decider
) -> Response:
    kind, case, form = await _kind_and_case(request, principal, case_id, route)
    sent_form = await request.form()
    reading = form.read(sent_form)
    sent: dict[str, Any] = {
        **reading.values,
        "idempotency_key": str(sent_form.get("idempotency_key", "")),
    }
    answers, errors = reading.body, reading.errors
    if not errors:
        try:
            await clients_of(request).post(
                principal,
                "review",
                f"/cases/{case_id}/{kind.ROUTE}",
                json=answers,
                headers={"Idempotency-Key": sent.get("idempotency_key") or str(uuid.uuid4())},
            )
        except Refused as e:
            if e.status not in (409, 422):
                raise
            errors = {(k or form.fields[0].name): v for k, v in e.problems.items()}
    if errors:
        return _page(request, case_id, kind, case, form, sent, errors, 400)
    return RedirectResponse(f"/cases/{case_id}?done={kind.KIND}#step-{kind.STEP}", 303)
