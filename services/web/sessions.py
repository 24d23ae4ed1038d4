"""Web sessions: who is signed in on this browser, kept in the web process, never in the cookie.

The cookie holds only a random session id (``Secure``, ``HttpOnly``, ``SameSite=Strict``). A
session ends when idle for ``web_idle_minutes``, at "Sign out" and at "Exit this page"; its id is
changed at each step of signing in, so an id seen before sign-in is worth nothing after it.
Sessions live in memory: a restart of the web process signs everyone out, which is safe.

Every form carries the session's CSRF token (``csrf_token``); :func:`check_csrf` refuses a form
posted without it (the synchronizer token pattern, on top of ``SameSite=Strict``).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fastapi import HTTPException, Request, status

from shared.identity import Principal, Role

if TYPE_CHECKING:
    from services.web.accounts import NewSecondFactor
    from services.web.oidc import Attempt

SESSION_COOKIE = "safeguard_session"
MAX_SESSIONS = 10_000


@dataclass
class Session:
    """One browser's session. ``principal`` is set only once every step of signing in passed;
    ``pending`` names the user whose password was right while a step remains."""

    id: str
    csrf: str
    last_seen: float
    pending: str | None = None
    principal: Principal | None = None
    offer: NewSecondFactor | None = None
    flash: list[str] = field(default_factory=list)
    oidc: Attempt | None = None
    """A sign-in sent to the trust's provider: the state, nonce and PKCE verifier it must come
    back with (services/web/oidc.py), kept here and never in a cookie."""
    vouched: bool = False
    """``pending`` was proved by the trust's provider: no one-time password to change."""

    @property
    def role(self) -> Role | None:
        return self.principal.role if self.principal else None


class Sessions:
    """The sessions of this process, each ended after ``idle_seconds`` without a request."""

    def __init__(self, idle_seconds: float, clock: Callable[[], float] | None = None) -> None:
        self.idle_seconds = idle_seconds
        self._clock = clock or time.monotonic
        self._by_id: dict[str, Session] = {}

    def find(self, session_id: str | None) -> Session | None:
        """The live session with this id, touched; ``None`` if there is none or it went idle."""
        if not session_id:
            return None
        session = self._by_id.get(session_id)
        now = self._clock()
        if session is None:
            return None
        if now - session.last_seen > self.idle_seconds:
            del self._by_id[session_id]
            return None
        session.last_seen = now
        return session

    def start(self) -> Session:
        if len(self._by_id) >= MAX_SESSIONS:
            self._forget_idle()
        while len(self._by_id) >= MAX_SESSIONS:
            # Still full of live sessions: the least recently used goes first.
            oldest = min(self._by_id.values(), key=lambda s: s.last_seen)
            del self._by_id[oldest.id]
        session = Session(
            id=secrets.token_urlsafe(32), csrf=secrets.token_urlsafe(32), last_seen=self._clock()
        )
        self._by_id[session.id] = session
        return session

    def renew(self, session: Session) -> Session:
        """The same session under a new id and a new CSRF token (at each step of signing in)."""
        self._by_id.pop(session.id, None)
        session.id = secrets.token_urlsafe(32)
        session.csrf = secrets.token_urlsafe(32)
        session.last_seen = self._clock()
        self._by_id[session.id] = session
        return session

    def end(self, session_id: str | None) -> None:
        if session_id:
            self._by_id.pop(session_id, None)

    def _forget_idle(self) -> None:
        now = self._clock()
        for session_id in [
            s.id for s in self._by_id.values() if now - s.last_seen > self.idle_seconds
        ]:
            del self._by_id[session_id]


def session_of(request: Request) -> Session:
    session: Session = request.state.session
    return session


async def check_csrf(request: Request) -> None:
    """Refuses (403) a form posted without this session's CSRF token."""
    if request.method != "POST":
        return
    form = await request.form()
    sent = form.get("csrf_token")
    if not isinstance(sent, str) or not secrets.compare_digest(sent, session_of(request).csrf):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "This form has expired or did not come from this service. Go back, reload the "
            "page and send it again.",
        )
