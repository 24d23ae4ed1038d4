"""A trust's configuration: its schools (short codes and names) and its settings, from one file.

The embedded default is an invented demo trust (``demo-trust.toml``); a real trust points
``SAFEGUARD_TRUST_FILE`` at its own.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

DEMO_TRUST_FILE = Path(__file__).with_name("demo-trust.toml")


class School(BaseModel):
    """One school of the trust."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(pattern=r"^[A-Z]{2,8}$", description="Short code used in references.")
    name: str = Field(min_length=1)


class Trust(BaseModel):
    """A multi-academy trust running one central deployment."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    timezone: str = "Europe/London"
    policy_version: str = Field(min_length=1, description="Referral policy version in force.")
    schools: tuple[School, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_codes(self) -> Trust:
        codes = [s.code for s in self.schools]
        if len(codes) != len(set(codes)):
            msg = "two schools share a code"
            raise ValueError(msg)
        return self

    def school(self, code: str) -> School | None:
        return next((s for s in self.schools if s.code == code), None)


class TrustFileError(ValueError):
    """The trust file cannot be read; the message names the file and the problem."""


def load_trust(path: Path | None = None) -> Trust:
    path = path or DEMO_TRUST_FILE
    try:
        return Trust.model_validate(tomllib.loads(path.read_text()))
    except (OSError, tomllib.TOMLDecodeError, ValidationError) as e:
        raise TrustFileError(f"{path}: {e}") from None
