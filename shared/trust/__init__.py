"""A trust's configuration: its schools (short codes and names), the referral policy version in
force, and who the referral service tells itself (its notice recipients), from one file.

The embedded default is an invented demo trust (``demo-trust.toml``); a real trust points
``SAFEGUARD_TRUST_FILE`` at its own. The file never holds a secret: a webhook recipient names
the environment variable that holds its signing key.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    ValidationError,
    field_validator,
    model_validator,
)

from shared.vocabulary import Action

DEMO_TRUST_FILE = Path(__file__).with_name("demo-trust.toml")

NoticeAction = Action
"""The actions of the referral policy a recipient can ask to be told about."""

SECRET_KEYS = ("secret", "hmac_secret", "signing_secret", "key", "password", "token")


class School(BaseModel):
    """One school of the trust."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(pattern=r"^[A-Z]{2,8}$", description="Short code used in references.")
    name: str = Field(min_length=1)


class Recipient(BaseModel):
    """Someone the referral service sends a notice to itself: by email (the trust safeguarding
    lead, a local authority's front door) or by signed webhook (another system)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(
        pattern=r"^[a-z0-9][a-z0-9_.-]{0,62}$",
        description="Stable name: part of each notice's identity, so never reuse one.",
    )
    channel: Literal["email", "webhook"]
    address: str = Field(default="", description="Email address (email channel only).")
    url: HttpUrl | None = Field(default=None, description="Webhook URL (webhook channel only).")
    secret_setting: str = Field(
        default="",
        pattern=r"^([A-Z][A-Z0-9_]{2,}|)$",
        description="Name of the environment variable holding the webhook's HMAC secret.",
    )
    actions: tuple[NoticeAction, ...] = Field(min_length=1)
    levels: tuple[Literal["required", "recommended", "dsl_decides"], ...] = Field(
        default=("required",), min_length=1, description="Which levels of those actions."
    )
    escalations: tuple[Literal["dsl", "head"], ...] = Field(
        default=(), description="Also told when one of its actions is escalated (overdue)."
    )
    schools: tuple[str, ...] = Field(default=(), description="Empty: every school.")
    enabled: bool = True

    @model_validator(mode="before")
    @classmethod
    def _no_secret_here(cls, data: Any) -> Any:
        if isinstance(data, dict) and (found := [k for k in SECRET_KEYS if k in data]):
            msg = (
                f"recipient {data.get('name', '?')}: {found[0]} does not belong in the trust "
                "file; put the secret in an environment variable and name it in secret_setting"
            )
            raise ValueError(msg)
        return data

    @field_validator("address")
    @classmethod
    def _an_address(cls, value: str) -> str:
        local, at, domain = value.partition("@")
        if value and not (local and at and "." in domain and " " not in value):
            msg = f"not an email address: {value}"
            raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _channel_fields(self) -> Recipient:
        if self.channel == "email" and (not self.address or self.url or self.secret_setting):
            msg = f"recipient {self.name}: an email recipient has an address, and no url or secret"
            raise ValueError(msg)
        if self.channel == "webhook" and (not self.url or not self.secret_setting or self.address):
            msg = (
                f"recipient {self.name}: a webhook recipient has a url and a secret_setting "
                "(the environment variable holding its HMAC secret), and no address"
            )
            raise ValueError(msg)
        return self

    @property
    def destination(self) -> str:
        """Where its notices go: the email address or the webhook URL."""
        return self.address or str(self.url)

    def wants(self, school: str, action: str) -> bool:
        """An enabled recipient for this school that asked to be told about ``action``."""
        return (
            self.enabled and action in self.actions and (not self.schools or school in self.schools)
        )


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
"""Hosts an issuer may be reached at over plain HTTP: this machine (a provider the tests start)."""


class OidcSignIn(BaseModel):
    """Signing in to the web pages through the trust's OpenID Connect provider (Microsoft
    Entra ID, Google Workspace). The provider proves who the person is; their local account
    (``safeguard user add``) still says what they may do, so only a person with an account
    of the username the provider names may sign in."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    issuer: str = Field(
        pattern=r"^https?://[^\s/?#]+[^\s?#]*$",
        description="The provider's issuer, exactly as its ID tokens name it: its "
        "/.well-known/openid-configuration is read from there. Entra ID: "
        "https://login.microsoftonline.com/{tenant id}/v2.0 (the tenant's own, never /common/); "
        "Google: https://accounts.google.com.",
    )
    client_id: str = Field(min_length=1, description="This deployment's client id there.")
    name: str = Field(
        min_length=1,
        max_length=40,
        description='Shown on the button: "Sign in with {name}" (Microsoft, Google).',
    )
    username_claim: Literal["email", "preferred_username", "upn"] = Field(
        default="email",
        description="The ID token's claim that holds the person's username here.",
    )
    require_mfa: bool = Field(
        default=False,
        description="Rely on the provider's second factor: a role that needs one signs in only "
        'with an ID token whose amr claim holds "mfa", and is then not asked for its '
        "authenticator app code. False: such a role gives its code here after the provider.",
    )
    hosted_domain: str = Field(
        default="",
        pattern=r"^([a-z0-9.-]+\.[a-z]{2,})?$",
        description="Google Workspace: the ID token's hd claim must be this domain (a personal "
        "Google account has none). Empty: not checked.",
    )
    local: bool = Field(
        default=True,
        description="Also offer the username and password form; false hides it and refuses "
        "its POST.",
    )

    @model_validator(mode="before")
    @classmethod
    def _no_secret_here(cls, data: Any) -> Any:
        if isinstance(data, dict) and any(k in data for k in (*SECRET_KEYS, "client_secret")):
            msg = (
                "the client secret does not belong in the trust file; put it in the "
                "environment variable SAFEGUARD_WEB_OIDC_CLIENT_SECRET"
            )
            raise ValueError(msg)
        return data

    @field_validator("issuer")
    @classmethod
    def _https(cls, value: str) -> str:
        # Kept as written, not as pydantic's HttpUrl would write it (with a "/" after a bare
        # host): discovery and every ID token must name exactly this issuer.
        url = urlsplit(value)
        if url.scheme != "https" and url.hostname not in LOOPBACK_HOSTS:
            msg = "the issuer is reached over https (plain http only on this machine)"
            raise ValueError(msg)
        return value


class SignIn(BaseModel):
    """How people sign in to the web pages: always with a local account, and through the
    trust's OpenID Connect provider where ``oidc`` is set."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    oidc: OidcSignIn | None = None


class Trust(BaseModel):
    """A multi-academy trust running one central deployment."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    timezone: str = Field(
        default="Europe/London",
        description="IANA time zone: exports show times in it, statistics count months in it.",
    )
    policy_version: str = Field(min_length=1, description="Referral policy version in force.")
    case_url: HttpUrl = Field(
        default=HttpUrl("http://127.0.0.1:8102"),
        description="Base of the link each notice carries ({case_url}/cases/{id}).",
    )
    schools: tuple[School, ...] = Field(min_length=1)
    recipients: tuple[Recipient, ...] = ()
    sign_in: SignIn = SignIn()

    @field_validator("timezone")
    @classmethod
    def _a_time_zone(cls, value: str) -> str:
        # Refused when the file is read, not at the first export, statistics or request that
        # needs it (times sent without a zone are read in it).
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            msg = f"no time zone {value!r}: give an IANA name such as Europe/London"
            raise ValueError(msg) from None
        return value

    @model_validator(mode="after")
    def _unique_codes(self) -> Trust:
        codes = [s.code for s in self.schools]
        if len(codes) != len(set(codes)):
            msg = "two schools share a code"
            raise ValueError(msg)
        return self

    @model_validator(mode="after")
    def _recipients_known(self) -> Trust:
        names = [r.name for r in self.recipients]
        if len(names) != len(set(names)):
            msg = "two recipients share a name"
            raise ValueError(msg)
        codes = {s.code for s in self.schools}
        for recipient in self.recipients:
            unknown = sorted(set(recipient.schools) - codes)
            if unknown:
                msg = f"recipient {recipient.name}: no school {', '.join(unknown)} in this trust"
                raise ValueError(msg)
        return self

    def school(self, code: str) -> School | None:
        return next((s for s in self.schools if s.code == code), None)

    def case_link(self, case_id: object) -> str:
        """The link a notice carries to the case."""
        return f"{str(self.case_url).rstrip('/')}/cases/{case_id}"


class TrustFileError(ValueError):
    """The trust file cannot be read; the message names the file and the problem."""


def load_trust(path: Path | None = None) -> Trust:
    path = path or DEMO_TRUST_FILE
    try:
        return Trust.model_validate(tomllib.loads(path.read_text()))
    except ValidationError as e:
        raise TrustFileError(f"{path}: {problems(e)}") from None
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise TrustFileError(f"{path}: {e}") from None


def problems(error: ValidationError) -> str:
    """Each problem where it is, without the values: a secret put in the file by mistake must
    not reach the logs."""
    return "; ".join(
        f"{'.'.join(str(part) for part in e['loc']) or 'trust'}: {e['msg']}"
        for e in error.errors(include_input=False, include_url=False)
    )
