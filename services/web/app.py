"""The web process: GOV.UK Design System pages rendered on the server.

The pages use GOV.UK Frontend (its CSS, fonts, images and JavaScript, pinned in
``package.json`` and installed by ``npm ci --prefix services/web``) through the Jinja macros of
``govuk-frontend-jinja``. Everything a page loads is served by this process itself: no CDN, no
third-party asset. Every answer carries a Content-Security-Policy with no ``unsafe-inline`` (the
one inline script of GOV.UK's page template runs under a nonce made for that answer),
``Cache-Control: no-store`` (a case page must not stay in a shared computer's cache) and no
referrer.

"Exit this page" is on every page: its button (and Shift pressed three times, GOV.UK
Frontend's own) goes to ``/exit``, which ends the session before sending the browser to a
neutral site.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import HTTPException
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.web import oidc
from services.web.accounts import Accounts
from services.web.clients import Refused, ServiceClients
from services.web.pages import (
    auditor,
    cases,
    containment,
    head,
    response,
    signin,
    staff,
    triage,
    trust,
)
from services.web.pages.common import NotForYouError, SignInNeededError, render
from services.web.sessions import SESSION_COOKIE, Sessions
from shared.settings import Settings

HERE = Path(__file__).parent
GOVUK = HERE / "node_modules" / "govuk-frontend" / "dist" / "govuk"
EXIT_TO = "https://www.bbc.co.uk/weather"
"""Where "Exit this page" sends the browser: a neutral page, GOV.UK's own default."""

ROUTERS = (
    signin.router,
    cases.router,
    triage.router,
    response.router,
    containment.router,
    head.router,
    auditor.router,
    trust.router,
    staff.router,
)
"""Every router of pages; each refuses a form posted without its CSRF token."""

__all__ = ["EXIT_TO", "ROUTERS", "SESSION_COOKIE", "AssetsMissingError", "create_app"]

PROBLEMS = {
    400: "There is a problem with the request",
    403: "You cannot see this page",
    404: "Page not found",
    405: "Page not found",
    409: "Someone else changed this case",
    503: "Sorry, the service is unavailable",
}


class AssetsMissingError(RuntimeError):
    """GOV.UK Frontend's files are not installed next to the web process."""


def content_security_policy(nonce: str) -> str:
    """Only this process's own files; inline script only under this answer's nonce."""
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            "style-src 'self'",
            "img-src 'self'",
            "font-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


def create_app(
    settings: Settings | None = None,
    *,
    transports: dict[str, httpx.AsyncBaseTransport] | None = None,
) -> FastAPI:
    """The web process's application; refuses to start without GOV.UK Frontend's files.

    ``transports`` routes the calls to the services elsewhere (tests: to apps in-process)."""
    if not (GOVUK / "govuk-frontend.min.css").exists():
        msg = (
            f"GOV.UK Frontend is not installed in {GOVUK}: "
            "run `npm ci --prefix services/web` (the README's set-up command does)"
        )
        raise AssetsMissingError(msg)
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.clients = ServiceClients(settings, transports)
        app.state.oidc = oidc.provider_of(settings)
        try:
            yield
        finally:
            await app.state.clients.close()
            if app.state.oidc is not None:
                await app.state.oidc.aclose()

    app = FastAPI(
        title="safeguard: web pages",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.accounts = Accounts(settings)
    app.state.sessions = Sessions(idle_seconds=settings.web_idle_minutes * 60)
    app.state.failed_attempts = signin.FailedAttempts()
    app.mount("/assets", StaticFiles(directory=GOVUK / "assets"), name="assets")
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for router in ROUTERS:
        app.include_router(router)

    @app.get("/govuk/govuk-frontend.min.css", include_in_schema=False)
    def govuk_css() -> Response:
        return FileResponse(GOVUK / "govuk-frontend.min.css", media_type="text/css")

    @app.get("/govuk/govuk-frontend.min.js", include_in_schema=False)
    def govuk_js() -> Response:
        return FileResponse(GOVUK / "govuk-frontend.min.js", media_type="text/javascript")

    @app.middleware("http")
    async def safe_answers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        request.state.nonce = secrets.token_urlsafe(16)
        sessions: Sessions = app.state.sessions
        sent = request.cookies.get(SESSION_COOKIE)
        request.state.session = sessions.find(sent) or sessions.start()
        response = await call_next(request)
        session_id = request.state.session.id
        if (
            session_id != sent
            and SESSION_COOKIE not in response.headers.get("set-cookie", "")
            # The browser keeps a cookie this answer must not replace (signin.py says why).
            and not getattr(request.state, "keep_session_cookie", False)
        ):
            response.set_cookie(
                SESSION_COOKIE, session_id, secure=True, httponly=True, samesite="strict"
            )
        response.headers["Content-Security-Policy"] = content_security_policy(request.state.nonce)
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    @app.exception_handler(SignInNeededError)
    async def sign_in_first(request: Request, exc: SignInNeededError) -> Response:
        return RedirectResponse(f"/sign-in?then={exc.then}", status_code=303)

    @app.exception_handler(NotForYouError)
    async def not_for_you(request: Request, exc: NotForYouError) -> Response:
        return problem(request, 403, "Your role does not use this page.")

    @app.exception_handler(StarletteHTTPException)
    async def http_problem(request: Request, exc: HTTPException) -> Response:
        return problem(request, exc.status_code, str(exc.detail))

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused) -> Response:
        if exc.status == 404:
            return problem(request, 404, "There is no such case, or it is not one of yours.")
        return problem(request, exc.status if exc.status in PROBLEMS else 400, str(exc))

    @app.exception_handler(httpx.TransportError)
    async def unreachable(request: Request, exc: httpx.TransportError) -> Response:
        return problem(
            request,
            503,
            "A part of the service is not answering. Nothing you sent was lost: try again in "
            "a minute. If a young person is at risk, tell the DSL in person now.",
        )

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        """The process is up: the health check docker-compose.yml gives the web container."""
        return {"status": "ok", "service": "web"}

    @app.get("/")
    def start(request: Request) -> Response:
        """What the product is for, and what to do now."""
        return render(request, "start.html")

    @app.get("/exit", include_in_schema=False)
    def exit_this_page(request: Request) -> Response:
        """End the session, then leave for a neutral page."""
        app.state.sessions.end(request.cookies.get(SESSION_COOKIE))
        response = RedirectResponse(EXIT_TO, status_code=303)
        response.delete_cookie(SESSION_COOKIE, secure=True, httponly=True, samesite="strict")
        # Not "storage": a disclosure waiting in the browser to be sent would be lost with it.
        # It holds pseudonyms, never a name, and is sent after the next sign-in.
        response.headers["Clear-Site-Data"] = '"cache", "cookies"'
        return response

    return app


def problem(request: Request, status_code: int, message: str) -> Response:
    heading = PROBLEMS.get(status_code, "Sorry, there is a problem")
    return render(request, "problem.html", status_code, heading=heading, message=message)
