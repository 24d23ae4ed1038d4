"""Who is asking: bearer tokens (JWT) naming the user, their role and the schools they act for.

One dependency, :class:`Authorize`, guards every case route of every service:

* no token, a bad one or an expired one: 401;
* a role the route does not allow: 403;
* a case of a school outside the token: 404 (:func:`hide_unless_visible`), revealing nothing.

Tokens are signed with the deployment's HS256 key (``safeguard token issue``), or by a trust's own
identity provider whose keys are fetched from ``SAFEGUARD_JWKS_URL``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

import jwt
from fastapi import HTTPException, Request, Security, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, ValidationError

from shared.settings import Settings
from shared.trust import Trust

ALL_SCHOOLS = "*"


class Role(StrEnum):
    """The roles of the brief: who may do what is decided per route."""

    STAFF = "staff"
    DSL = "dsl"
    HEAD = "head"
    TRUST_LEAD = "trust_lead"
    AUDITOR = "auditor"
    ADMIN = "admin"


# Only trust-wide roles may hold a token for every school of the trust.
TRUST_WIDE_ROLES = frozenset({Role.TRUST_LEAD, Role.AUDITOR, Role.ADMIN})


class Principal(BaseModel):
    """The user a verified token names."""

    model_config = ConfigDict(frozen=True)

    user: str
    role: Role
    schools: frozenset[str]

    def may_act_for(self, school: str) -> bool:
        return school in self.schools or (
            ALL_SCHOOLS in self.schools and self.role in TRUST_WIDE_ROLES
        )


class TokenError(ValueError):
    """A token that cannot be trusted; the message says why, without echoing the token."""


class TokenService:
    """Issues (embedded default only) and verifies bearer tokens."""

    def __init__(self, settings: Settings) -> None:
        self.issuer = settings.jwt_issuer
        self.audience = settings.jwt_audience
        self._jwks = jwt.PyJWKClient(settings.jwks_url) if settings.jwks_url else None
        self._secret = None if self._jwks else settings.signing_secret()

    def issue(
        self, user: str, role: Role, schools: list[str], *, ttl: timedelta = timedelta(hours=8)
    ) -> str:
        if self._secret is None:
            msg = "tokens come from the trust's identity provider (SAFEGUARD_JWKS_URL is set)"
            raise TokenError(msg)
        if ALL_SCHOOLS in schools and role not in TRUST_WIDE_ROLES:
            msg = f"role {role} may not hold a token for every school"
            raise TokenError(msg)
        if not schools and role not in TRUST_WIDE_ROLES:
            msg = f"role {role} needs at least one school"
            raise TokenError(msg)
        now = datetime.now(UTC)
        claims = {
            "sub": user,
            "role": str(role),
            "schools": sorted(schools),
            "iss": self.issuer,
            "aud": self.audience,
            "iat": now,
            "exp": now + ttl,
        }
        return jwt.encode(claims, self._secret, algorithm="HS256")

    def verify(self, token: str) -> Principal:
        try:
            if self._jwks is not None:
                key: Any = self._jwks.get_signing_key_from_jwt(token).key
                algorithms = ["RS256", "ES256", "PS256"]
            else:
                key, algorithms = self._secret, ["HS256"]
            claims = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "sub", "iss", "aud"]},
            )
            return Principal(
                user=claims["sub"], role=claims.get("role"), schools=claims.get("schools", [])
            )
        except jwt.ExpiredSignatureError:
            raise TokenError("token expired") from None
        except (jwt.PyJWTError, ValidationError, KeyError, TypeError):
            raise TokenError("token invalid") from None


# A security scheme, so that the OpenAPI document shows which routes need a token and /docs can
# send one. Not auto_error: a missing token is answered as every other 401 is, with its reason.
_bearer = HTTPBearer(
    scheme_name="bearer",
    bearerFormat="JWT",
    description="A JWT naming the user, their role and their schools "
    "(`safeguard token issue`, or the trust's identity provider).",
    auto_error=False,
)


class Authorize:
    """FastAPI dependency: the verified principal, if their role is one of ``roles``."""

    def __init__(self, *roles: Role) -> None:
        self.roles = frozenset(roles)

    async def __call__(
        self,
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    ) -> Principal:
        if credentials is None:
            raise _unauthorized("a bearer token is required")
        tokens: TokenService = request.app.state.tokens
        try:
            principal = tokens.verify(credentials.credentials)
        except TokenError as e:
            raise _unauthorized(str(e)) from None
        if principal.role not in self.roles:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, f"the {principal.role} role may not do this"
            )
        return principal


def case_not_found() -> HTTPException:
    """The one answer for a case that does not exist and for a case the caller may not see."""
    return HTTPException(status.HTTP_404_NOT_FOUND, "no such case")


def hide_unless_visible(principal: Principal, school: str) -> None:
    """404 for a case the principal may not see, exactly as for a case that does not exist."""
    if not principal.may_act_for(school):
        raise case_not_found()


def schools_listed(principal: Principal, trust: Trust, school: str | None) -> list[str]:
    """The schools a list (of cases, of overdue actions, of figures) shows, sorted: the one
    asked for, else every school of the trust the token acts for (a trust-wide token: all).

    A school the token does not act for, or that the trust does not have, is 404 "no such
    school for you", alike: what is wrong is the school asked for, not a case."""
    if school is not None:
        if trust.school(school) is None or not principal.may_act_for(school):
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such school for you")
        return [school]
    return sorted(s.code for s in trust.schools if principal.may_act_for(s.code))


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"}
    )
