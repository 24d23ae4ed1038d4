"""Step 1 for any member of staff: the disclosure, recorded on a phone the moment it is made.

A short form (the school if the user acts for more than one, how it came to be known, what was
said, when, and the young people by pseudonym and role), then a receipt with the case
reference (Post/Redirect/Get). Its vocabularies are intake's (:data:`DISCLOSURE_ROUTES`,
:data:`YoungPersonRole`, the bounds of :class:`YoungPersonRecorded`); only the words a person
reads are written here, and a test checks there are words for every code.

The form's ``Idempotency-Key`` is made when the form is rendered (a hidden field), so that the
same form sent twice is one case. When sending fails (offline, or the server does not answer)
the page's script (``static/disclosure.mjs``) keeps the filled form in the browser and sends
it when the connection is back, through ``POST /disclosures/send``: the same form and the same
CSRF check as ``POST /disclosures``, answered in JSON, with a token fetched fresh from
``GET /disclosures/token`` (a kept form's own token may belong to a session that has since
ended). The service worker (``GET /sw.js``) keeps the page's files and an empty copy of the form
(``GET /disclosures/offline``, which holds nothing of the user) for when the page is opened with
no connection.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

import httpx
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse

from services.intake.domain.disclosure import (
    DISCLOSURE_ROUTES,
    RECORDERS,
)
from services.web.clients import Refused
from services.web.disclosure_form import (
    AGES,
    MAX_ROWS,
    ROLE_WORDS,
    ROLES,
    ROUTE_WORDS,
    YEAR_GROUPS,
    Filled,
    Row,
    checked,
    field_of_problem,
    problem_words,
    schools_of,
)
from services.web.pages.common import (
    CSRF,
    SignedIn,
    clients_of,
    errors_list,
    render,
    trust_of,
)
from services.web.sessions import session_of
from shared.identity import Principal, Role

router = APIRouter(dependencies=[CSRF])
RECORDER_ROLES = tuple(Role(r) for r in RECORDERS)
Recorder = Annotated[Principal, Depends(SignedIn(*RECORDER_ROLES))]
STATIC = Path(__file__).parent.parent / "static"
FORM = "/disclosures/new"


class NotSentError(Exception):
    """The disclosure is not recorded: ``errors`` say why, under the fields they are about;
    ``status`` is what the page answers (400: the form's to correct; 503: send it again)."""

    def __init__(self, status: int, errors: dict[str, str]) -> None:
        self.status = status
        self.errors = errors


async def record(request: Request, principal: Principal, filled: Filled) -> dict[str, Any]:
    """Sends the disclosure to intake under the form's key; intake's case, or
    :class:`NotSentError`."""
    trust = trust_of(request)
    filled.without_blank_rows()
    disclosure, errors = checked(filled, schools_of(trust, principal), ZoneInfo(trust.timezone))
    if errors:
        raise NotSentError(400, errors)
    try:
        case: dict[str, Any] = await clients_of(request).post(
            principal,
            "intake",
            "/cases",
            json=disclosure,
            headers={"Idempotency-Key": filled.key},
        )
    except Refused as e:
        if e.status >= 500:
            raise NotSentError(503, {"disclosure": NOT_ANSWERING}) from None
        if e.status == 403:
            raise NotSentError(
                400, {"school": "Select a school you record disclosures for"}
            ) from None
        if e.status != 422:
            raise
        problems: dict[str, str] = {}
        for problem, message in e.problems.items():
            problems.setdefault(field_of_problem(problem, filled), problem_words(message))
        raise NotSentError(400, problems) from None
    except httpx.TransportError:
        raise NotSentError(503, {"disclosure": NOT_ANSWERING}) from None
    return case


NOT_ANSWERING = (
    "The disclosure is not recorded yet: a part of the service is not answering. Send it "
    "again in a minute. Tell the DSL now, in person if the young person is at risk"
)


def _form(
    request: Request,
    principal: Principal | None,
    filled: Filled,
    errors: dict[str, str],
    status_code: int = 200,
    *,
    offline: bool = False,
    focus_row: int | None = None,
) -> Response:
    trust = trust_of(request)
    schools = schools_of(trust, principal) if principal else []
    context: dict[str, Any] = {}
    if offline:
        # Nothing of the user in the copy the service worker keeps: no name, no token.
        context = {"principal": None, "navigation": [], "csrf_token": "", "home": "/"}
    return render(
        request,
        "disclosure_form.html",
        status_code,
        filled=filled,
        errors={k: errors[k] for k in sorted(errors, key=_order(filled))},
        schools=schools if len(schools) > 1 else [],
        schools_items=[
            {"value": s.code, "text": s.name, "checked": filled.school == s.code} for s in schools
        ],
        routes_items=[
            {"value": r, "text": ROUTE_WORDS[r], "checked": filled.disclosure_route == r}
            for r in DISCLOSURE_ROUTES
        ],
        role_items=role_items,
        year_groups=YEAR_GROUPS,
        ages=AGES,
        max_rows=MAX_ROWS,
        time_zone=trust.timezone,
        offline=offline,
        user=principal.user if principal and not offline else "",
        focus_row=focus_row,
        **context,
    )


def role_items(chosen: list[str]) -> list[dict[str, Any]]:
    """A young person's roles as checkboxes."""
    return [{"value": r, "text": ROLE_WORDS[r], "checked": r in chosen} for r in ROLES]


def _order(filled: Filled) -> Any:
    """Errors in the order the form asks its questions, a problem with the whole first."""
    order = ["disclosure", *filled.field_names()]
    return lambda name: order.index(name) if name in order else len(order)


def _now(request: Request) -> datetime:
    return datetime.now(ZoneInfo(trust_of(request).timezone))


@router.get(FORM)
def disclosure_form(request: Request, principal: Recorder) -> Response:
    """The form, empty, its time now (in the trust's time), with a fresh key."""
    return _form(request, principal, Filled.new(_now(request)), {})


@router.post("/disclosures")
async def record_disclosure(request: Request, principal: Recorder) -> Response:
    """Records the disclosure, then sends the browser to its receipt (Post/Redirect/Get); or
    the form again, as filled, with what is wrong; or one more young person's row."""
    form = await request.form()
    filled = Filled.of(form)
    if form.get("add_young_person"):
        if len(filled.rows) < MAX_ROWS:
            filled.rows.append(Row())
        return _form(request, principal, filled, {}, focus_row=len(filled.rows) - 1)
    try:
        case = await record(request, principal, filled)
    except NotSentError as e:
        return _form(request, principal, filled, e.errors, e.status)
    return RedirectResponse(f"/disclosures/{case['case_id']}", status_code=303)


@router.post("/disclosures/send")
async def send_disclosure(request: Request) -> Response:
    """The page's script sends a filled form here (at once, or kept while offline and sent
    when the connection is back): the same form and CSRF check as ``POST /disclosures``,
    answered in JSON: 201 with the reference and the receipt's address; 400 with the errors
    (GOV.UK's error summary items); 401 when the session has ended."""
    principal = session_of(request).principal
    if principal is None:
        return JSONResponse({"sign_in": f"/sign-in?then={FORM}"}, status_code=401)
    if principal.role not in RECORDER_ROLES:
        return JSONResponse({"errors": []}, status_code=403)
    filled = Filled.of(await request.form())
    try:
        case = await record(request, principal, filled)
    except NotSentError as e:
        errors = {k: e.errors[k] for k in sorted(e.errors, key=_order(filled))}
        return JSONResponse({"errors": errors_list(errors)}, status_code=e.status)
    return JSONResponse(
        {"reference": case["reference"], "receipt": f"/disclosures/{case['case_id']}"},
        status_code=201,
    )


@router.get("/disclosures/token")
def send_token(request: Request) -> Response:
    """The session's CSRF token and user, for the script to send a kept form with (its own
    token may be a session's that has ended). Readable by this site's own pages alone: the
    cookie is SameSite=Strict and no other origin may read the answer."""
    principal = session_of(request).principal
    if principal is None:
        return JSONResponse({"sign_in": f"/sign-in?then={FORM}"}, status_code=401)
    if principal.role not in RECORDER_ROLES:
        return JSONResponse({}, status_code=403)
    return JSONResponse({"csrf_token": session_of(request).csrf, "user": principal.user})


@router.get("/disclosures/offline")
def offline_form(request: Request) -> Response:
    """The form as the service worker keeps it for when the page is opened offline: nothing
    of the user in it (the school is asked when it is sent, if the user has more than one)."""
    return _form(request, None, Filled(key=""), {}, offline=True)


@router.get("/disclosures/{case_id}")
async def receipt(request: Request, case_id: UUID, principal: Recorder) -> Response:
    """The case's reference, and what happens next: as much of the case as this user may see
    (intake answers 404 for a case that is not theirs)."""
    case = await clients_of(request).get(principal, "intake", f"/cases/{case_id}")
    school = trust_of(request).school(case["school"])
    return render(
        request,
        "disclosure_receipt.html",
        case=case,
        school=school.name if school else case["school"],
    )


@router.get("/sw.js", include_in_schema=False)
def service_worker() -> Response:
    """The service worker, from the site's root so that it may control ``/disclosures/``."""
    return FileResponse(STATIC / "sw.js", media_type="text/javascript")


__all__ = ["MAX_ROWS", "ROLE_WORDS", "ROUTE_WORDS", "Filled", "checked", "router"]
