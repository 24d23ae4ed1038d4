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
