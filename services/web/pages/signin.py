"""Signing in: a password, then (for every role but staff) a code from an authenticator app or a
recovery code. A one-time password given by ``safeguard user add|reset`` must be changed first,
and a second factor not yet set up is set up then.

The same answer for a wrong user, a wrong password, a disabled and a locked account; a failed
attempt is answered more slowly each time (``web_failure_delay_seconds``, doubled per failure
for that username, at most 8 s).

Where the trust file sets up its OpenID Connect provider (``[sign_in.oidc]``), "Sign in with
{name}" goes there instead of the password (services/web/oidc.py). The provider proves who the
person is; only a person with a local account of that username signs in, with that account's
role and schools, and a person without one (or whose account is disabled) gets the same answer
as a wrong password. A one-time password need not be changed then. A role that needs a second
factor still gives its code here, unless the trust relies on the provider's (``require_mfa``):
then the ID token must say one was used (``amr`` holding "mfa"), or the sign-in is refused.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import OrderedDict
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from services.web.accounts import Account, AccountError, Accounts, SignInRefusedError
from services.web.oidc import Provider, ProviderError
from services.web.pages.common import CSRF, HOME, render
from services.web.sessions import SESSION_COOKIE, Session, session_of
from shared.identity import Principal

log = logging.getLogger(__name__)
router = APIRouter(dependencies=[CSRF])
MAX_DELAY = 8.0
REFUSED = "The username or password is not right"
CALLBACK = "/sign-in/oidc/callback"


def accounts_of(request: Request) -> Accounts:
    accounts: Accounts = request.app.state.accounts
    return accounts


def provider_of(request: Request) -> Provider | None:
    """The trust's OpenID Connect provider, if its file sets one up (made at start-up)."""
    provider: Provider | None = getattr(request.app.state, "oidc", None)
    return provider


def local_allowed(request: Request) -> bool:
    """The username and password form is offered (always, unless the provider's
    ``local = false``)."""
    provider = provider_of(request)
    return provider is None or provider.config.local


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
    if account.must_change_password and not session.vouched:
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
    session.oidc = None
    session.vouched = False
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


def sign_in_form(
    request: Request,
    status_code: int = 200,
    *,
    then: str = "",
    errors: dict[str, str] | None = None,
    username: str = "",
) -> Response:
    """The sign-in page: "Sign in with {name}" where the trust has a provider, and the
    username and password form unless it is turned off."""
    provider = provider_of(request)
    return render(
        request,
        "sign_in.html",
        status_code,
        then=then,
        errors=errors or {},
        username=username,
        provider=provider.name if provider else "",
        local=local_allowed(request),
    )


@router.get("/sign-in")
def sign_in_page(request: Request, then: str | None = None) -> Response:
    return sign_in_form(request, then=safe_then(then))


@router.post("/sign-in")
async def sign_in(
    request: Request,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    then: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    then = safe_then(then)
    provider = provider_of(request)
    if provider is not None and not provider.config.local:
        raise HTTPException(
            403, f"This trust signs in with {provider.name} only: use Sign in with {provider.name}."
        )
    errors = {}
    if not username.strip():
        errors["username"] = "Enter your username"
    if not password:
        errors["password"] = "Enter your password"  # noqa: S105 (words, not a password)
    if errors:
        return sign_in_form(request, 400, then=then, errors=errors, username=username)
    try:
        account = await run_in_threadpool(accounts_of(request).check_password, username, password)
    except SignInRefusedError:
        await slow_down(request, username)
        return sign_in_form(
            request, 400, then=then, errors={"username": REFUSED}, username=username
        )
    session = request.app.state.sessions.renew(session_of(request))
    session.pending = account.username
    session.principal = None
    session.vouched = False
    return next_step(request, session, account, then)


# Through the trust's OpenID Connect provider ----------------------------------------------


def redirect_uri(request: Request) -> str:
    """Where the provider sends the browser back: this site's callback, at its public address
    (``SAFEGUARD_WEB_PUBLIC_URL``) where one is set, since behind a reverse proxy the request's
    own may be an inside one."""
    base = request.app.state.settings.web_public_url or str(request.base_url)
    return f"{base.rstrip('/')}{CALLBACK}"


def provider_refused(request: Request, message: str, then: str, status_code: int = 400) -> Response:
    """The sign-in page again, its error summary saying what went wrong, linking to the button."""
    return sign_in_form(request, status_code, then=then, errors={"oidc": message})


@router.get("/sign-in/oidc")
async def sign_in_with_provider(request: Request, then: str | None = None) -> Response:
    """Sends the browser to the trust's provider, keeping what must come back in the session."""
    provider = provider_of(request)
    if provider is None:
        raise HTTPException(404, "This trust does not sign in through a provider.")
    then = safe_then(then)
    try:
        url, attempt = await provider.start(redirect_uri(request), then)
    except ProviderError as e:
        log.warning("signing in with %s cannot start: %s", provider.name, e)
        message = (
            f"Signing in with {provider.name} is not working at the moment: try again in a "
            "minute. If it keeps failing, ask your trust's administrator"
        )
        return provider_refused(request, message, then, 503)
    session_of(request).oidc = attempt
    return RedirectResponse(url, status_code=303)


@router.get(CALLBACK)
async def provider_callback(
    request: Request,
    state: Annotated[str, Query(max_length=500)] = "",
    code: Annotated[str, Query(max_length=4000)] = "",
    error: Annotated[str, Query(max_length=200)] = "",
    again: str = "",
) -> Response:
    """The provider sends the browser back here, with a code (or an error) and the state."""
    provider = provider_of(request)
    if provider is None:
        raise HTTPException(404, "This trust does not sign in through a provider.")
    if request.cookies.get(SESSION_COOKIE) is None and not again:
        return come_back_with_the_cookie(request)
    session = session_of(request)
    attempt, session.oidc = session.oidc, None  # used once, whatever comes of it
    if attempt is None or not secrets.compare_digest(attempt.state, state):
        log.warning(
            "a sign-in came back from %s with a state this session did not send", provider.name
        )
        message = (
            f"This sign-in with {provider.name} did not start in this browser, or took too "
            "long: start again"
        )
        return provider_refused(request, message, "")
    then = attempt.then
    if error or not code:
        log.info("%s did not sign the person in: %r", provider.name, error[:40] or "no code")
        return provider_refused(request, f"{provider.name} did not sign you in: try again", then)
    try:
        identity = await provider.finish(attempt, code)
    except ProviderError as e:
        log.warning("a sign-in with %s was refused: %s", provider.name, e)
        message = (
            f"Signing in with {provider.name} did not work: try again. If it keeps failing, "
            "ask your trust's administrator"
        )
        return provider_refused(request, message, then)
    accounts = accounts_of(request)
    try:
        account = await run_in_threadpool(accounts.check_vouched, identity.username)
    except SignInRefusedError:
        log.info(
            "%s vouched for a person with no account here, or a disabled or locked one",
            provider.name,
        )
        # The same words as a wrong password: whether an account exists is said to no one.
        return sign_in_form(
            request,
            400,
            then=then,
            errors={"username" if local_allowed(request) else "oidc": REFUSED},
        )
    session = request.app.state.sessions.renew(session)
    session.pending = account.username
    session.principal = None
    session.vouched = True
    issuer = provider.config.issuer
    if not account.needs_second_factor:
        await run_in_threadpool(
            accounts.signed_in_with_provider, account, issuer=issuer, mfa=identity.mfa
        )
        return signed_in(request, session, account, then)
    if not provider.config.require_mfa:
        return next_step(request, session, account, then)  # the code from their app, here
    if not identity.mfa:
        session.pending = None
        session.vouched = False
        log.info(
            "%s signed %s in without a second factor, which their role needs",
            provider.name,
            account.username,
        )
        message = (
            f"Your account needs a second factor, and {provider.name} did not use one: sign in "
            f"to {provider.name} with multi-factor authentication (your authenticator app, or "
            "a code sent to your phone), then try again"
        )
        return provider_refused(request, message, then, 403)
    await run_in_threadpool(accounts.signed_in_with_provider, account, issuer=issuer, mfa=True)
    return signed_in(request, session, account, then)


def come_back_with_the_cookie(request: Request) -> Response:
    """The browser came back from the provider without our session cookie: it is
    ``SameSite=Strict``, and a browser holds such a cookie back from any request a redirect
    from another site made. A page of ours that moves on to the same address is a request from
    this site, which gets the cookie. This answer gives no cookie itself: a new one would
    replace the one that holds the sign-in."""
    sessions = request.app.state.sessions
    sessions.end(session_of(request).id)  # the empty session made for this request
    request.state.keep_session_cookie = True
    query = urlencode({**request.query_params, "again": "1"})
    return render(request, "sign_in_continue.html", url=f"{CALLBACK}?{query}")


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
    session = session_of(request)
    if account is None or (account.must_change_password and not session.vouched):
        return start_again()
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
    if (
        account is None
        or session.offer is None
        or (account.must_change_password and not session.vouched)
    ):
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
