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
from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, PrefixLoader

HERE = Path(__file__).parent
GOVUK = HERE / "node_modules" / "govuk-frontend" / "dist" / "govuk"
EXIT_TO = "https://www.bbc.co.uk/weather"
"""Where "Exit this page" sends the browser: a neutral page, GOV.UK's own default."""
SESSION_COOKIE = "safeguard_session"


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


def templates() -> Jinja2Templates:
    """Our pages, and GOV.UK's template and components under ``govuk_frontend_jinja/``."""
    loader = ChoiceLoader(
        [
            FileSystemLoader(HERE / "templates"),
            PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
        ]
    )
    return Jinja2Templates(env=Environment(loader=loader, autoescape=True))


def create_app() -> FastAPI:
    """The web process's application; refuses to start without GOV.UK Frontend's files."""
    if not (GOVUK / "govuk-frontend.min.css").exists():
        msg = (
            f"GOV.UK Frontend is not installed in {GOVUK}: "
            "run `npm ci --prefix services/web` (the README's set-up command does)"
        )
        raise AssetsMissingError(msg)
    app = FastAPI(title="safeguard: web pages", docs_url=None, redoc_url=None, openapi_url=None)
    pages = templates()
    app.mount("/assets", StaticFiles(directory=GOVUK / "assets"), name="assets")
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

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
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = content_security_policy(request.state.nonce)
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    @app.get("/", response_class=HTMLResponse)
    def start(request: Request) -> Response:
        """What the product is for, and what to do now."""
        return pages.TemplateResponse(request, "start.html", {"nonce": request.state.nonce})

    @app.get("/exit", include_in_schema=False)
    def exit_this_page() -> Response:
        """End the session, then leave for a neutral page."""
        response = RedirectResponse(EXIT_TO, status_code=303)
        response.delete_cookie(SESSION_COOKIE, secure=True, httponly=True, samesite="strict")
        response.headers["Clear-Site-Data"] = '"cache", "cookies", "storage"'
        return response

    return app
