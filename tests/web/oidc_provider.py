"""A small OpenID Connect provider for the tests, standing in for Microsoft Entra ID or Google
Workspace: discovery, an authorization endpoint that sends the browser straight back with a
code for the person the test chose (no login page), a token endpoint that checks the code, the
PKCE verifier and the client secret, and its keys (JWKS) with an RS256 key made at start.

Written independently of the client it tests: its ID tokens are signed with PyJWT, where the
web process verifies them with Authlib and joserfc. ``fault`` makes it misbehave in one way, to
show that the web process refuses what a provider must not send.
"""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import unquote_plus, urlencode

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.web.browser import live_server


class Fault(StrEnum):
    """One way the provider misbehaves."""

    BAD_NONCE = "bad nonce"
    WRONG_AUDIENCE = "wrong audience"
    EXPIRED = "expired"
    NO_AMR = "no amr"
    OTHER_KEY = "signed with a key not in its JWKS"
    OTHER_ISSUER = "discovery names another issuer"


@dataclass
class Grant:
    """A code the authorization endpoint gave, and what its redemption must match."""

    client_id: str
    redirect_uri: str
    code_challenge: str
    nonce: str
    claims: dict[str, Any]


@dataclass
class TestProvider:
    """The provider, its registered client, and the person who signs in next (``sign_in_as``).
    Serve it with ``serving()``; ``issuer`` is its base URL then."""

    __test__ = False  # not a test class, whatever pytest makes of its name

    client_id: str = "safeguard-web"
    client_secret: str = "invented-client-secret"
    fault: Fault | None = None
    sign_in_page: bool = False
    """Answer the authorization request with a page of its own, whose button sends the browser
    back (as a real provider's sign-in page does), rather than a redirect straight back."""
    issuer: str = ""
    claims: dict[str, Any] = field(default_factory=dict)
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    """Why each refused token request was refused, in order."""

    def __post_init__(self) -> None:
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._kid = secrets.token_hex(4)
        self._grants: dict[str, Grant] = {}

    def sign_in_as(self, username: str, *, mfa: bool = True, **claims: Any) -> None:
        """The person the authorization endpoint signs in next: their email (and, as Entra ID
        sends, preferred_username), ``amr`` with "mfa" if ``mfa``."""
        self.claims = {
            "sub": secrets.token_hex(8),
            "email": username,
            "preferred_username": username,
            "amr": ["pwd", "mfa"] if mfa else ["pwd"],
            **claims,
        }

    @contextmanager
    def serving(self) -> Iterator[TestProvider]:
        """Served by uvicorn on a free port of 127.0.0.1 until the block ends."""
        with live_server(self.app()) as url:
            self.issuer = url
            yield self

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self.discovery),
                Route("/authorize", self.authorize),
                Route("/token", self.token, methods=["POST"]),
                Route("/jwks", self.jwks),
            ]
        )

    # The endpoints ------------------------------------------------------------------------

    async def discovery(self, request: Request) -> Response:
        issuer = "https://elsewhere.example" if self.fault == Fault.OTHER_ISSUER else self.issuer
        return JSONResponse(
            {
                "issuer": issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                ],
                "scopes_supported": ["openid", "email", "profile"],
            }
        )

    async def authorize(self, request: Request) -> Response:
        asked = dict(request.query_params)
        self.authorize_requests.append(asked)
        problems = [
            name
            for name, ok in (
                ("client_id", asked.get("client_id") == self.client_id),
                ("response_type", asked.get("response_type") == "code"),
                ("scope", "openid" in asked.get("scope", "").split()),
                ("code_challenge_method", asked.get("code_challenge_method") == "S256"),
                ("code_challenge", bool(asked.get("code_challenge"))),
                ("redirect_uri", bool(asked.get("redirect_uri"))),
                ("state", bool(asked.get("state"))),
                ("nonce", bool(asked.get("nonce"))),
            )
            if not ok
        ]
        if problems:
            return JSONResponse({"error": "invalid_request", "wrong": problems}, 400)
        code = secrets.token_urlsafe(24)
        self._grants[code] = Grant(
            client_id=asked["client_id"],
            redirect_uri=asked["redirect_uri"],
            code_challenge=asked["code_challenge"],
            nonce=asked["nonce"],
            claims=dict(self.claims),
        )
        back = f"{asked['redirect_uri']}?{urlencode({'code': code, 'state': asked['state']})}"
        if self.sign_in_page:
            # The browser leaves from this page: to it, a navigation this other site started.
            return HTMLResponse(
                "<!doctype html><html lang='en'><title>Test provider</title>"
                f"<a href='{html.escape(back)}'>Continue as {html.escape(self.claims['email'])}</a>"
                "</html>"
            )
        return RedirectResponse(back, status_code=302)

    async def token(self, request: Request) -> Response:
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        self.token_requests.append(form)
        client_id, secret = self._client_of(request, form)
        if client_id != self.client_id or not secrets.compare_digest(secret, self.client_secret):
            return self._refuse("invalid_client", 401)
        if form.get("grant_type") != "authorization_code":
            return self._refuse("unsupported_grant_type")
        grant = self._grants.pop(form.get("code", ""), None)  # a code is good once
        if grant is None or grant.client_id != client_id:
            return self._refuse("invalid_grant")
        if form.get("redirect_uri") != grant.redirect_uri:
            return self._refuse("invalid_grant: redirect_uri")
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        if challenge.rstrip(b"=").decode() != grant.code_challenge:
            return self._refuse("invalid_grant: code_verifier")
        return JSONResponse(
            {
                "access_token": secrets.token_urlsafe(24),
                "token_type": "Bearer",
                "expires_in": 3600,
                "scope": "openid email profile",
                "id_token": self._id_token(grant),
            }
        )

    async def jwks(self, request: Request) -> Response:
        public = jwt.algorithms.RSAAlgorithm.to_jwk(self._key.public_key(), as_dict=True)
        return JSONResponse({"keys": [{**public, "kid": self._kid, "use": "sig", "alg": "RS256"}]})

    # ---------------------------------------------------------------------------------------

    def _id_token(self, grant: Grant) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.client_id,
            "iat": now,
            "exp": now + 600,
            "nonce": grant.nonce,
            **grant.claims,
        }
        key, kid = self._key, self._kid
        match self.fault:
            case Fault.BAD_NONCE:
                claims["nonce"] = secrets.token_urlsafe(32)
            case Fault.WRONG_AUDIENCE:
                claims["aud"] = "another-client"
            case Fault.EXPIRED:
                claims["iat"], claims["exp"] = now - 3600, now - 600
            case Fault.NO_AMR:
                claims.pop("amr", None)
            case Fault.OTHER_KEY:
                key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})

    def _refuse(self, why: str, status_code: int = 400) -> Response:
        self.refused.append(why)
        return JSONResponse({"error": why.split(":")[0]}, status_code)

    @staticmethod
    def _client_of(request: Request, form: dict[str, str]) -> tuple[str, str]:
        """client_secret_basic (RFC 6749, 2.3.1: each part form-urlencoded), else _post."""
        header = request.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            return unquote_plus(user), unquote_plus(password)
        return form.get("client_id", ""), form.get("client_secret", "")
