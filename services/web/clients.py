"""The web process's calls to the three services, over HTTP like any other client (httpx).

Each call carries a bearer token the web process mints for the signed-in user (their name, role
and schools), valid for five minutes; the signing key stays on this server. A refusal comes
back as :class:`Refused`, holding the service's own words for each field, so that a page can
show them in GOV.UK's error summary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx

from shared.identity import Principal, TokenService
from shared.settings import SERVICE_NAMES, Settings

TOKEN_TTL = timedelta(minutes=5)


@dataclass
class Refused(Exception):
    """The service refused the request: its status, and what it said, per field where it
    named one (``""`` for the whole request)."""

    status: int
    problems: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return "; ".join(f"{k}: {v}" if k else v for k, v in self.problems.items())


def problems_of(answer: httpx.Response) -> dict[str, str]:
    """The service's words for what is wrong: FastAPI's ``detail``, a string or a list of
    validation errors, each under the field it names."""
    try:
        detail = answer.json().get("detail", answer.text)
    except ValueError:
        detail = answer.text or answer.reason_phrase
    if isinstance(detail, str):
        return {"": detail}
    problems: dict[str, str] = {}
    for error in detail if isinstance(detail, list) else [detail]:
        if isinstance(error, dict):
            where = [str(p) for p in error.get("loc", []) if p not in ("body", "query", "path")]
            problems.setdefault(".".join(where), str(error.get("msg", error)))
        else:
            problems.setdefault("", str(error))
    return problems


class ServiceClients:
    """One httpx client per service; ``transports`` lets tests route them to apps in-process."""

    def __init__(
        self, settings: Settings, transports: dict[str, httpx.AsyncBaseTransport] | None = None
    ) -> None:
        self.tokens = TokenService(settings)
        self._clients = {
            name: httpx.AsyncClient(
                base_url=settings.url_of(name),
                transport=(transports or {}).get(name),
                timeout=httpx.Timeout(10.0, connect=2.0),
            )
            for name in SERVICE_NAMES
        }

    async def close(self) -> None:
        for client in self._clients.values():
            await client.aclose()

    def _headers(self, principal: Principal, extra: dict[str, str] | None) -> dict[str, str]:
        token = self.tokens.issue(
            principal.user, principal.role, sorted(principal.schools), ttl=TOKEN_TTL
        )
        return {"Authorization": f"Bearer {token}", **(extra or {})}

    async def call(
        self,
        principal: Principal,
        service: str,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        refused_as_answer: bool = False,
    ) -> httpx.Response:
        """The service's answer if it is a success; :class:`Refused` otherwise (or, with
        ``refused_as_answer``, the answer whatever it is)."""
        answer = await self._clients[service].request(
            method,
            path,
            json=json,
            params={k: v for k, v in (params or {}).items() if v not in (None, "")},
            headers=self._headers(principal, headers),
        )
        if answer.is_error and not refused_as_answer:
            raise Refused(answer.status_code, problems_of(answer))
        return answer

    async def get(self, principal: Principal, service: str, path: str, **kw: Any) -> Any:
        return (await self.call(principal, service, "GET", path, **kw)).json()

    async def post(self, principal: Principal, service: str, path: str, **kw: Any) -> Any:
        return (await self.call(principal, service, "POST", path, **kw)).json()
