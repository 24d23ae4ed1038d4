"""What every page shares: rendering a template with the session's CSRF token and the answer's
CSP nonce, and the guard that lets a signed-in user of the right role in."""

from __future__ import annotations

from datetime import datetime, tzinfo
from functools import cache, partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Depends, Request, Response
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, PrefixLoader

from services.web.clients import ServiceClients
from services.web.sessions import Session, check_csrf, session_of
from shared.identity import Principal, Role
from shared.trust import Trust, load_trust

TEMPLATES = Path(__file__).parent.parent / "templates"

HOME = {
    Role.STAFF: "/disclosures/new",
    Role.DSL: "/cases",
    Role.HEAD: "/cases",
    Role.TRUST_LEAD: "/trust",
    Role.AUDITOR: "/audit",
    Role.ADMIN: "/cases",
}
"""Where each role lands after signing in."""

NAVIGATION: dict[Role, tuple[tuple[str, str], ...]] = {
    Role.STAFF: (("Record a disclosure", "/disclosures/new"),),
    Role.DSL: (("Cases", "/cases"), ("Record a disclosure", "/disclosures/new")),
    Role.HEAD: (("Cases", "/cases"), ("Record a disclosure", "/disclosures/new")),
    Role.TRUST_LEAD: (("Statistics", "/trust"), ("Overdue actions", "/trust/overdue")),
    Role.AUDITOR: (("Cases", "/audit"),),
    Role.ADMIN: (("Cases", "/cases"),),
}
"""The service navigation each role sees."""


def navigation(role: Role | None, path: str) -> list[dict[str, Any]]:
    if role is None:
        return []
    return [
        {"text": text, "href": href, "active": path == href or path.startswith(f"{href}/")}
        for text, href in NAVIGATION.get(role, ())
    ]


def templates() -> Jinja2Templates:
    """Our pages, and GOV.UK's template and components under ``govuk_frontend_jinja/``."""
    loader = ChoiceLoader(
        [
            FileSystemLoader(TEMPLATES),
            PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
        ]
    )
    env = Environment(loader=loader, autoescape=True)
    env.globals["errors_list"] = errors_list
    env.filters["field_id"] = field_id
    return Jinja2Templates(env=env)


def field_id(name: str) -> str:
    """The HTML id of the field a service names (``young_people.0.pseudonym``)."""
    return name.replace(".", "-").replace("_", "-") or "main"


def errors_list(errors: dict[str, str]) -> list[dict[str, str]]:
    """GOV.UK's error summary items, each linking to the field it is about."""
    return [{"text": text, "href": f"#{field_id(name)}"} for name, text in errors.items()]


PAGES = templates()


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    """The page, with what the base template needs: the nonce, the session and its token."""
    session = session_of(request)
    return PAGES.TemplateResponse(
        request,
        template,
        {
            "nonce": request.state.nonce,
            "csrf_token": session.csrf,
            "principal": session.principal,
            "home": HOME.get(session.principal.role) if session.principal else "/",
            "navigation": navigation(session.role, request.url.path),
            "when": partial(short_time, zone=ZoneInfo(trust_of(request).timezone)),
            **context,
        },
        status_code=status_code,
    )


@cache
def _trust(path: Path | None) -> Trust:
    return load_trust(path)


def trust_of(request: Request) -> Trust:
    """The trust the web process serves (its schools' names, its time zone)."""
    return _trust(request.app.state.settings.trust_file)


def short_time(value: str | datetime | None, zone: tzinfo) -> str:
    """A time as people at the trust read it: ``4 Dec 2026, 19:03`` in the trust's zone."""
    if not value:
        return ""
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    return at.astimezone(zone).strftime("%-d %b %Y, %H:%M")


class SignInNeededError(Exception):
    """The page needs a signed-in user; the browser is sent to sign in, then back."""

    def __init__(self, then: str) -> None:
        self.then = then


class NotForYouError(Exception):
    """Signed in, but the role may not use this page."""


class SignedIn:
    """Dependency: the signed-in user, if their role is one of ``roles``."""

    def __init__(self, *roles: Role) -> None:
        self.roles = frozenset(roles)

    def __call__(self, request: Request) -> Principal:
        principal = session_of(request).principal
        if principal is None:
            then = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise SignInNeededError(then)
        if principal.role not in self.roles:
            raise NotForYouError
        return principal


def clients_of(request: Request) -> ServiceClients:
    clients: ServiceClients = request.app.state.clients
    return clients


CSRF = Depends(check_csrf)
"""Every router's dependency: a POST must carry the session's CSRF token."""

__all__ = ["CSRF", "HOME", "PAGES", "Session", "SignedIn", "clients_of", "render"]
