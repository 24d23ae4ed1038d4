"""Signing in through the trust's OpenID Connect provider (``[sign_in.oidc]`` in the trust file):
Microsoft Entra ID or Google Workspace, which schools and trusts already use.

The authorization code flow with PKCE (S256): the browser goes to the provider with a fresh
``state``, ``nonce`` and code challenge, all three kept in the browser's server-side session
(:class:`Attempt`, never in a cookie); it comes back with a code, which this process exchanges
for an ID token with the client secret and the PKCE verifier. The ID token is believed only
once its signature verifies against the provider's published keys (JWKS) and its ``iss``,
``aud``, ``exp`` and ``nonce`` (and ``azp`` where there are several audiences) are right.
The provider's endpoints come from its discovery document, whose ``issuer`` must be exactly
the trust file's.

Built from Authlib's pieces: its httpx OAuth 2 client (:class:`AsyncOAuth2Client`: the
authorization URL with the PKCE challenge, the token request with client authentication) and
its OpenID Connect ID token claims (:class:`CodeIDToken`), verified by joserfc, Authlib's own
JOSE library. Not Authlib's Starlette integration: it keeps the state, nonce and verifier in
``request.session``, Starlette's SessionMiddleware, a signed cookie of their own; ours stay in
the session this process keeps (services/web/sessions.py).

The provider proves who the person is; the local account says what they may do. What happens
after (whose account, which role, whether a second factor is still asked for) is the sign-in
pages' (services/web/pages/signin.py).
"""

from __future__ import annotations

import asyncio
import secrets
import warnings
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.common.errors import AuthlibBaseError
from authlib.deprecate import AuthlibDeprecationWarning
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from shared.settings import Settings
from shared.trust import OidcSignIn, load_trust

with warnings.catch_warnings():
    # Authlib 1.9 prefers the httpx2 fork and warns when it finds only httpx; httpx (0.x) is this
    # project's HTTP client everywhere and Authlib 1.x supports it. Revisit with Authlib 2.
    warnings.filterwarnings("ignore", category=AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client

SCOPE = "openid email profile"
SIGNING_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384")
"""Signatures an ID token may carry: the provider's own keys only (never "none", never a key
shared with this client)."""
LEEWAY_SECONDS = 60
"""Clock difference allowed between the provider and this machine for ``exp`` and ``iat``."""
TIMEOUT = httpx.Timeout(10.0)
MFA = "mfa"
"""The ``amr`` value Entra ID and Google put in an ID token when a second factor was used
(RFC 8176)."""


class OidcConfigError(RuntimeError):
    """The trust file asks for sign-in through a provider that this process cannot use."""


class ProviderError(Exception):
    """The provider's answer cannot be used: it refused, it is not answering, or its ID token is
    not to be believed. The message says why, for the log (never a token or a claim's value)."""


@dataclass(frozen=True)
class Attempt:
    """One sign-in sent to the provider: what must come back with it, kept in the session of
    the browser that started it, and used once."""

    state: str
    nonce: str
    code_verifier: str
    redirect_uri: str
    then: str


@dataclass(frozen=True)
class Identity:
    """Who the provider says signed in: the username (lower case, as accounts keep it), and
    whether they used a second factor there."""

    username: str
    mfa: bool


class Provider:
    """The trust's OpenID Connect provider, as one web process uses it.

    Its discovery document and keys are read when first needed and kept; the keys are read again
    when an ID token names a key not among them (the provider rotated its keys)."""

    def __init__(self, config: OidcSignIn, client_secret: str) -> None:
        if not client_secret:
            msg = (
                f"the trust file sets up signing in with {config.name} ([sign_in.oidc]), but "
                "SAFEGUARD_WEB_OIDC_CLIENT_SECRET is empty: set it to the client secret"
            )
            raise OidcConfigError(msg)
        self.config = config
        self._client_secret = client_secret
        self._http = httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False)
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None
        self._lock = asyncio.Lock()

    @property
    def name(self) -> str:
        return self.config.name

    async def aclose(self) -> None:
        await self._http.aclose()

    async def start(self, redirect_uri: str, then: str) -> tuple[str, Attempt]:
        """The provider's address to send the browser to, and the attempt to keep meanwhile."""
        metadata = await self.metadata()
        attempt = Attempt(
            state=secrets.token_urlsafe(32),
            nonce=secrets.token_urlsafe(32),
            # RFC 7636: 43 to 128 characters; 64 random bytes make 86.
            code_verifier=secrets.token_urlsafe(64),
            redirect_uri=redirect_uri,
            then=then,
        )
        async with self._client(redirect_uri) as client:
            url, _ = client.create_authorization_url(
                metadata["authorization_endpoint"],
                state=attempt.state,
                code_verifier=attempt.code_verifier,
                nonce=attempt.nonce,
            )
        return url, attempt

    async def finish(self, attempt: Attempt, code: str) -> Identity:
        """Exchanges the code the browser brought back for an ID token, and says whom it names.
        :class:`ProviderError` if the exchange fails or the token is not to be believed."""
        metadata = await self.metadata()
        try:
            async with self._client(attempt.redirect_uri) as client:
                token = await client.fetch_token(
                    metadata["token_endpoint"],
                    grant_type="authorization_code",
                    code=code,
                    redirect_uri=attempt.redirect_uri,
                    code_verifier=attempt.code_verifier,
                )
        except AuthlibBaseError as e:
            raise ProviderError(f"the token endpoint refused the code: {e.error}") from None
        except (httpx.HTTPError, ValueError) as e:
            raise ProviderError(f"the token endpoint did not answer: {type(e).__name__}") from None
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            msg = "the token endpoint sent no ID token"
            raise ProviderError(msg)
        claims = await self._verified(id_token, attempt.nonce, token.get("access_token"))
        return self._identity(claims)

    async def metadata(self) -> dict[str, Any]:
        """The provider's discovery document, read once; its issuer must be the trust file's."""
        if self._metadata is not None:
            return self._metadata
        async with self._lock:
            if self._metadata is None:
                issuer = self.config.issuer
                document = await self._get_json(
                    f"{issuer.rstrip('/')}/.well-known/openid-configuration"
                )
                # OpenID Connect Discovery 1.0, section 4.3: a document naming another issuer
                # (Entra ID's /common/ one names "{tenantid}") is not this trust's provider.
                if document.get("issuer") != issuer:
                    msg = "its discovery document names another issuer than the trust file's"
                    raise ProviderError(msg)
                needed = ("authorization_endpoint", "token_endpoint", "jwks_uri")
                if missing := [k for k in needed if not isinstance(document.get(k), str)]:
                    msg = f"its discovery document has no {', '.join(missing)}"
                    raise ProviderError(msg)
                self._metadata = document
        return self._metadata

    def _client(self, redirect_uri: str) -> AsyncOAuth2Client:
        """Authlib's client for one sign-in: a client holds the token it fetched, and a token is
        one person's, so each sign-in has its own (as Authlib's own integrations do)."""
        assert self._metadata is not None
        methods = self._metadata.get("token_endpoint_auth_methods_supported", [])
        # client_secret_basic is the default where the provider lists none (Discovery 1.0, 3).
        method = (
            "client_secret_post"
            if methods and "client_secret_basic" not in methods and "client_secret_post" in methods
            else "client_secret_basic"
        )
        return AsyncOAuth2Client(
            client_id=self.config.client_id,
            client_secret=self._client_secret,
            token_endpoint_auth_method=method,
            scope=SCOPE,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            timeout=TIMEOUT,
        )

    async def _verified(self, id_token: str, nonce: str, access_token: object) -> dict[str, Any]:
        """The ID token's claims, once its signature, issuer, audience, expiry and nonce are
        right."""
        assert self._metadata is not None
        offered = self._metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        registry = JWSRegistry(algorithms=[a for a in offered if a in SIGNING_ALGORITHMS])
        try:
            try:
                decoded = jwt.decode(id_token, await self._key_set(), registry=registry)
            except InvalidKeyIdError:
                decoded = jwt.decode(id_token, await self._key_set(fresh=True), registry=registry)
            claims = CodeIDToken(
                decoded.claims,
                decoded.header,
                {
                    "iss": {"essential": True, "value": self.config.issuer},
                    "aud": {"essential": True, "value": self.config.client_id},
                },
                {
                    "nonce": nonce,
                    "client_id": self.config.client_id,
                    **({"access_token": access_token} if isinstance(access_token, str) else {}),
                },
            )
            claims.validate(leeway=LEEWAY_SECONDS)
        except JoseError as e:
            # The error's name and the claim it is about (e.g. InvalidClaimError: nonce), never
            # the claim's value.
            raise ProviderError(f"its ID token was refused: {type(e).__name__}: {e}") from None
        return dict(claims)

    def _identity(self, claims: dict[str, Any]) -> Identity:
        claim = self.config.username_claim
        username = claims.get(claim)
        if not isinstance(username, str) or not username.strip():
            msg = f"its ID token has no {claim} claim"
            raise ProviderError(msg)
        if claim == "email" and claims.get("email_verified") is False:
            msg = "its ID token says the email address is not verified"
            raise ProviderError(msg)
        if self.config.hosted_domain and claims.get("hd") != self.config.hosted_domain:
            msg = "its ID token is for an account outside the trust's hosted domain"
            raise ProviderError(msg)
        amr = claims.get("amr")
        return Identity(username=username.strip().lower(), mfa=isinstance(amr, list) and MFA in amr)

    async def _key_set(self, *, fresh: bool = False) -> KeySet:
        if self._keys is None or fresh:
            assert self._metadata is not None
            document = await self._get_json(self._metadata["jwks_uri"])
            try:
                self._keys = KeySet.import_key_set(document)  # type: ignore[arg-type]
            except (JoseError, ValueError, TypeError, KeyError) as e:
                msg = f"its JWKS cannot be read: {type(e).__name__}"
                raise ProviderError(msg) from None
        return self._keys

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            answer = await self._http.get(url, headers={"Accept": "application/json"})
            answer.raise_for_status()
            document = answer.json()
        except (httpx.HTTPError, ValueError) as e:
            msg = f"{url} did not answer with JSON: {type(e).__name__}"
            raise ProviderError(msg) from None
        if not isinstance(document, dict):
            msg = f"{url} did not answer with a JSON object"
            raise ProviderError(msg)
        return document


def provider_of(settings: Settings) -> Provider | None:
    """The trust's provider if its file sets one up (``[sign_in.oidc]``), else ``None``.
    A trust file that cannot be read stops the start (:class:`TrustFileError`), as it does for
    every service."""
    config = load_trust(settings.trust_file).sign_in.oidc
    return None if config is None else Provider(config, settings.web_oidc_client_secret)
