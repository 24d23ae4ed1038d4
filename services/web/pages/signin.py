"""Signing in: a password, then (for every role but staff) a code from an authenticator app or a
recovery code. A one-time password given by ``safeguard user add|reset`` must be changed first,
and a second factor not yet set up is set up then.

The same answer for a wrong user, a wrong password, a disabled and a locked account; a failed
attempt is answered more slowly each time (``web_failure_delay_seconds``, doubled per failure
for that username, at most 8 s).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from services.web.accounts import Account, AccountError, Accounts, SignInRefusedError
from services.web.pages.common import CSRF, HOME, render
from services.web.sessions import SESSION_COOKIE, Session, session_of
from shared.identity import Principal

router = APIRouter(dependencies=[CSRF])
MAX_DELAY = 8.0
REFUSED = "The username or password is not right"


def accounts_of(request: Request) -> Accounts:
    accounts: Accounts = request.app.state.accounts
    return accounts


def safe_then(then: str | None) -> str:
    """Only a path of this site: never an address elsewhere (no open redirect)."""
    if then and then.startswith("/") and not then.startswith(("//", "/\\")):
        return then
    return ""


class FailedAttempts:
    """How many sign-ins in a row failed per username tried (known or not, so that the delay
    says nothing about whether an account exists)."""

    def __init__(self, limit: int = 10_000) -> None:
        self._counts: OrderedDict[str, int] = OrderedDict()
        self._limit = limit

    def failed(self, username: str) -> int:
        key = username.strip().lower()
        count = self._counts.pop(key, 0) + 1
        self._counts[key] = count
        while len(self._counts) > self._limit:
            self._counts.popitem(last=False)
        return count

    def clear(self, username: str) -> None:
        self._counts.pop(username.strip().lower(), None)


async def slow_down(request: Request, username: str) -> None:
    failures = request.app.state.failed_attempts.failed(username)
    base = request.app.state.settings.web_failure_delay_seconds
    await asyncio.sleep(min(base * 2 ** (failures - 1), MAX_DELAY))


def next_step(request: Request, session: Session, account: Account, then: str) -> Response:
    """After a step of signing in, the next: a new password, the second factor, or in."""
    if account.must_change_password:
        return RedirectResponse(_with_then("/sign-in/new-password", then), status_code=303)
    if account.needs_second_factor:
        step = "/sign-in/code" if account.totp_secret else "/sign-in/set-up-code"
        return RedirectResponse(_with_then(step, then), status_code=303)
    accounts_of(request).signed_in(account)
    return signed_in(request, session, account, then)


def signed_in(request: Request, session: Session, account: Account, then: str) -> Response:
    request.app.state.sessions.renew(session)
    session.pending = None
    session.offer = None
    session.principal = Principal(
        user=account.username, role=account.role, schools=frozenset(account.schools)
    )
    request.app.state.failed_attempts.clear(account.username)
    return RedirectResponse(then or HOME[account.role], status_code=303)


def _with_then(path: str, then: str) -> str:
    return f"{path}?then={then}" if then else path


def pending_account(request: Request) -> Account | None:
    session = session_of(request)
    if session.pending is None:
        return None
    try:
        return accounts_of(request).get(session.pending)
    except AccountError:
        return None


def start_again() -> Response:
    return RedirectResponse("/sign-in", status_code=303)


@router.get("/sign-in")
def sign_in_page(request: Request, then: str | None = None) -> Response:
    return render(request, "sign_in.html", then=safe_then(then), errors={}, username="")


@router.post("/sign-in")
async def sign_in(
    request: Request,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    then: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    then = safe_then(then)
    errors = {}
    if not username.strip():
        errors["username"] = "Enter your username"
    if not password:
        errors["password"] = "Enter your password"  # noqa: S105 (words, not a password)
    if errors:
        return render(request, "sign_in.html", 400, then=then, errors=errors, username=username)
    try:
        account = await run_in_threadpool(accounts_of(request).check_password, username, password)
    except SignInRefusedError:
        await slow_down(request, username)
        return render(
            request,
            "sign_in.html",
            400,
            then=then,
            errors={"username": REFUSED},
            username=username,
        )
    session = request.app.state.sessions.renew(session_of(request))
    session.pending = account.username
    session.principal = None
    return next_step(request, session, account, then)


@router.get("/sign-in/new-password")
def new_password_page(request: Request, then: str | None = None) -> Response:
    if pending_account(request) is None:
        return start_again()
    return render(request, "new_password.html", then=safe_then(then), errors={})


@router.post("/sign-in/new-password")
async def new_password(
    request: Request,
    password: Annotated[str, Form(max_length=1000)] = "",
    confirm: Annotated[str, Form(max_length=1000)] = "",
    then: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    then = safe_then(then)
    account = pending_account(request)
    if account is None:
        return start_again()
    errors = {}
    if password != confirm:
        errors["confirm"] = "The two passwords are not the same"
    else:
        try:
            await run_in_threadpool(
                accounts_of(request).change_password, account.username, password
            )
        except AccountError as e:
            errors["password"] = str(e).capitalize()
    if errors:
        return render(request, "new_password.html", 400, then=then, errors=errors)
    return next_step(request, session_of(request), accounts_of(request).get(account.username), then)


@router.get("/sign-in/set-up-code")
def set_up_code_page(request: Request, then: str | None = None) -> Response:
    account = pending_account(request)
    if account is None or account.must_change_password:
        return start_again()
    session = session_of(request)
    session.offer = session.offer or Accounts.offer_second_factor()
    return render(
        request,
        "set_up_code.html",
        then=safe_then(then),
        errors={},
        secret=" ".join(session.offer.secret[i : i + 4] for i in range(0, 32, 4)),
        uri=session.offer.uri(account.username),
    )


@router.post("/sign-in/set-up-code")
async def set_up_code(
    request: Request,
    code: Annotated[str, Form(max_length=20)] = "",
    then: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    then = safe_then(then)
    account = pending_account(request)
    session = session_of(request)
    if account is None or session.offer is None or account.must_change_password:
        return start_again()
    offer = session.offer
    try:
        account = accounts_of(request).set_up_second_factor(account.username, offer, code)
    except AccountError as e:
        return render(
            request,
            "set_up_code.html",
            400,
            then=then,
            errors={"code": str(e).capitalize()},
            secret=" ".join(offer.secret[i : i + 4] for i in range(0, 32, 4)),
            uri=offer.uri(account.username),
        )
    signed_in(request, session, account, then)
    return render(
        request,
        "recovery_codes.html",
        codes=offer.recovery_codes,
        then=then or HOME[account.role],
    )


@router.get("/sign-in/code")
def code_page(request: Request, then: str | None = None) -> Response:
    account = pending_account(request)
    if account is None or account.totp_secret is None:
        return start_again()
    return render(request, "code.html", then=safe_then(then), errors={})


@router.post("/sign-in/code")
async def code(
    request: Request,
    code: Annotated[str, Form(max_length=40)] = "",
    then: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    then = safe_then(then)
    account = pending_account(request)
    if account is None:
        return start_again()
    try:
        account = await run_in_threadpool(accounts_of(request).check_code, account.username, code)
    except (SignInRefusedError, AccountError):
        await slow_down(request, account.username)
        return render(
            request,
            "code.html",
            400,
            then=then,
            errors={"code": "That code is not right: enter the 6 digits your app shows now"},
        )
    return signed_in(request, session_of(request), account, then)


@router.post("/sign-out")
def sign_out(request: Request) -> Response:
    request.app.state.sessions.end(session_of(request).id)
    response = RedirectResponse("/sign-in?signed_out=1", status_code=303)
    response.delete_cookie(SESSION_COOKIE, secure=True, httponly=True, samesite="strict")
    return response
