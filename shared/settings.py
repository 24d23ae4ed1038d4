"""Settings shared by every service, read from the environment (prefix ``SAFEGUARD_``).

Each setting has an embedded default so that ``safeguard up`` runs on a bare machine: SQLite files
and a local nats-server under ``var/``, a signing key generated on first start.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.files import PRIVATE_FILE, private_dir

SERVICE_NAMES = ("intake", "referral", "review")


class Settings(BaseSettings):
    """Everything a deployment can set. See the settings table in README.md."""

    model_config = SettingsConfigDict(env_prefix="SAFEGUARD_", extra="ignore")

    var_dir: Path = Field(default=Path("var"), description="Where embedded data lives.")
    database_url: str = Field(
        default="",
        description="postgresql://user:password@host:port/db for a trust deployment; "
        "empty means SQLite files under var/.",
    )
    database_schema_prefix: str = Field(
        default="",
        pattern=r"^[a-z0-9_]*$",
        description="Prefix of the per-service PostgreSQL schemas (intake, referral, review, "
        "and the web pages' accounts).",
    )
    nats_url: str = Field(
        default="",
        validation_alias=AliasChoices("NATS_URL", "SAFEGUARD_NATS_URL"),
        description="An existing NATS server or cluster (comma-separated URLs); empty means "
        "`safeguard up` starts a local nats-server.",
    )
    nats_port: int = Field(
        default=0, description="Port for the embedded nats-server; 0 picks a free one."
    )
    stream_replicas: int = Field(default=1, ge=1, le=5, description="JetStream replicas.")
    duplicate_window_seconds: float = Field(
        default=24 * 3600, gt=0, description="How long JetStream remembers message ids."
    )
    host: str = "127.0.0.1"
    web_port: int = 8100
    intake_port: int = 8101
    referral_port: int = 8102
    review_port: int = 8103
    # Where the web pages and the demo reach each service. In docker-compose.yml each service
    # is a container of its own (http://intake:8101), not a port on SAFEGUARD_HOST.
    intake_url: str = Field(
        default="",
        pattern=r"^(https?://\S+)?$",
        description="Intake's base URL; empty means http://{host}:{intake_port}.",
    )
    referral_url: str = Field(
        default="",
        pattern=r"^(https?://\S+)?$",
        description="Referral's base URL; empty means http://{host}:{referral_port}.",
    )
    review_url: str = Field(
        default="",
        pattern=r"^(https?://\S+)?$",
        description="Review's base URL; empty means http://{host}:{review_port}.",
    )
    jwt_secret: str = Field(
        default="", description="HS256 key for tokens; empty means var/jwt-secret, made once."
    )
    jwks_url: str = Field(
        default="", description="A trust identity provider's JWKS URL (RS256/ES256 tokens)."
    )
    jwt_issuer: str = "safeguard"
    jwt_audience: str = "safeguard"
    trust_file: Path | None = Field(
        default=None, description="TOML file naming the trust's schools; default: demo trust."
    )
    consumer_max_attempts: int = Field(
        default=8, ge=1, description="Attempts before a message goes to the dead-letter subject."
    )
    consumer_ack_wait_seconds: float = Field(default=30, gt=0)
    consumer_backoff_seconds: float = Field(default=0.5, gt=0)
    relay_batch_size: int = Field(default=256, ge=1)
    relay_poll_seconds: float = Field(default=1.0, gt=0)
    smtp_host: str = Field(
        default="localhost", description="SMTP server the referral service sends notices by."
    )
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_starttls: bool = Field(default=False, description="STARTTLS before sending.")
    smtp_username: str = Field(default="", description="SMTP login; empty means none.")
    smtp_password: str = ""
    smtp_from: str = Field(
        default="safeguard@localhost", description="From address of the notices sent by email."
    )
    delivery_max_attempts: int = Field(
        default=10, ge=1, description="Attempts at one notice before it is given up."
    )
    delivery_backoff_seconds: float = Field(
        default=30, gt=0, description="First retry delay of a notice; doubles per attempt."
    )
    delivery_backoff_max_seconds: float = Field(default=3600, gt=0)
    delivery_timeout_seconds: float = Field(
        default=10,
        gt=0,
        description="How long one attempt may take; an attempt without an outcome after "
        "twice this is presumed lost (the process stopped) and sent again with the same key.",
    )
    followup_poll_seconds: float = Field(
        default=5,
        gt=0,
        description="How often referral looks for notices to send and actions gone overdue.",
    )
    stall_seconds: float = Field(
        default=30,
        gt=0,
        description="How long work may wait without moving (events not published, upstream "
        "messages not applied, follow-ups failing) before /readyz says 503.",
    )
    web_accounts_key: str = Field(
        default="",
        description="AES-256 key (base64) encrypting the web pages' accounts (password hashes, "
        "second-factor secrets); empty means var/accounts-key, made once.",
    )
    web_idle_minutes: float = Field(
        default=30, gt=0, description="A web session ends after this long without a request."
    )
    web_lockout_failures: int = Field(
        default=5, ge=1, description="Failed sign-ins in a row before an account is locked."
    )
    web_lockout_minutes: float = Field(
        default=15, gt=0, description="How long a locked account stays locked."
    )
    web_failure_delay_seconds: float = Field(
        default=0.5,
        ge=0,
        description="A failed sign-in is answered after this, doubled for each failure before "
        "it (at most 8 s), so that guessing is slow.",
    )
    web_public_url: str = Field(
        default="",
        pattern=r"^(https://\S+)?$",
        description="The web pages' address as people reach it (the trust's HTTPS reverse "
        "proxy); the OpenID Connect provider sends them back to {it}/sign-in/oidc/callback. "
        "Empty means each request's own address.",
    )
    web_oidc_client_secret: str = Field(
        default="",
        description="The client secret of the trust's OpenID Connect provider ([sign_in.oidc] "
        "in the trust file), never in the file itself.",
    )
    log_level: str = "INFO"

    def port_of(self, service: str) -> int:
        return {
            "web": self.web_port,
            "intake": self.intake_port,
            "referral": self.referral_port,
            "review": self.review_port,
        }[service]

    def url_of(self, service: str) -> str:
        """The base URL other processes reach ``service`` at (without a trailing slash)."""
        url = {
            "intake": self.intake_url,
            "referral": self.referral_url,
            "review": self.review_url,
        }[service]
        return (url or f"http://{self.host}:{self.port_of(service)}").rstrip("/")

    def signing_secret(self) -> str:
        """The HS256 key: from settings, or made once and kept under var/ (mode 0600, in a
        directory of mode 0700)."""
        return self.jwt_secret or self._kept_secret("jwt-secret", secrets.token_urlsafe(48))

    def accounts_key(self) -> str:
        """The AES-256 key the web pages' account store is encrypted with (base64): from
        settings, or made once and kept under var/ as the signing key is."""
        fresh = base64.b64encode(secrets.token_bytes(32)).decode()
        return self.web_accounts_key or self._kept_secret("accounts-key", fresh)

    def _kept_secret(self, name: str, fresh: str) -> str:
        path = private_dir(self.var_dir) / name
        try:
            # O_EXCL: when several processes start at once, exactly one writes the key.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(fresh)
        return path.read_text().strip()
