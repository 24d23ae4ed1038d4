"""How referral's notices are sent: email over SMTP, and webhooks signed with HMAC-SHA256.

What is sent is the notice's recorded content and nothing else (see
:mod:`services.referral.domain.notices`). Every attempt at one notice carries the same key: the
webhook's ``Idempotency-Key`` header and the email's ``Message-ID`` are both the notice's id, so
a receiver can drop the copy a retry (or a crash between sending and recording) makes.

A receiver checks a webhook by computing ``HMAC-SHA256(secret, body)`` over the raw body and
comparing it with ``X-Safeguard-Signature: sha256=<hex>``; the secret lives in the environment
variable the trust file names for that recipient, never in the file.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate
from typing import Protocol

import httpx

from services.referral.domain.notices import ACTION_OVERDUE, Dispatch
from shared.settings import Settings

SIGNATURE_HEADER = "X-Safeguard-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
NOTICE_HEADER = "X-Safeguard-Notice"


class DeliveryError(Exception):
    """An attempt failed; the message says how, and never holds a secret or the content."""


class Sender(Protocol):
    """Sends one attempt at a notice; returns a receipt, or raises :class:`DeliveryError`."""

    async def send(self, dispatch: Dispatch) -> str: ...


def webhook_body(dispatch: Dispatch) -> bytes:
    """The notice as canonical JSON: every attempt sends the same bytes."""
    document = {**dispatch.content, "notice_id": str(dispatch.notice_id)}
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def signature(secret: str, body: bytes) -> str:
    """The ``X-Safeguard-Signature`` of ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def subject(content: Mapping[str, str]) -> str:
    action = content["action"].replace("_", " ")
    if content["notice"] == ACTION_OVERDUE:
        escalated = f"escalated to the {content['escalated_to'].upper()}"
        head = f"[overdue, {escalated}] {action}"
    else:
        head = f"[{content['urgency']}] {action} {content['level'].replace('_', ' ')}"
    return f"{head}: case {content['case_reference']} ({content['school']})"


def email_text(content: Mapping[str, str], notice_id: str) -> str:
    escalated = content.get("escalated_to", "")
    lines = [
        f"Case {content['case_reference']} at {content['school_name']} ({content['school']}).",
        f"Needed: {content['action'].replace('_', ' ')} ({content['level'].replace('_', ' ')}).",
        f"Why: {content['why']}.",
        f"Urgency: {content['urgency']}; due by {content['due_at']}.",
        *([f"Not done by then: escalated to the {escalated.upper()}."] if escalated else []),
        f"Open the case: {content['link']}",
        "",
        "This notice carries no names and nothing of the image; sign in to see the case.",
        f"Notice {notice_id}, policy {content['policy_version']}.",
    ]
    return "\n".join(lines) + "\n"


def email_message(dispatch: Dispatch, sender: str) -> EmailMessage:
    """The notice as an email whose ``Message-ID`` is the same on every attempt."""
    domain = sender.rpartition("@")[2] or "safeguard.invalid"
    message = EmailMessage()
    message["From"] = sender
    message["To"] = dispatch.destination
    message["Subject"] = subject(dispatch.content)
    message["Message-ID"] = f"<{dispatch.notice_id}@{domain}>"
    message["Date"] = formatdate(usegmt=True)
    message["Auto-Submitted"] = "auto-generated"
    message[NOTICE_HEADER] = str(dispatch.notice_id)
    message.set_content(email_text(dispatch.content, str(dispatch.notice_id)))
    return message


class SmtpSender:
    """Sends notices by email through one SMTP server (smtplib, in a thread)."""

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        username: str = "",
        password: str = "",
        starttls: bool = False,
        timeout: float = 10.0,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.username, self.password, self.starttls = username, password, starttls
        self.timeout = timeout

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpSender:
        return cls(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_from,
            username=settings.smtp_username,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
            timeout=settings.delivery_timeout_seconds,
        )

    async def send(self, dispatch: Dispatch) -> str:
        return await asyncio.to_thread(self._send, email_message(dispatch, self.sender))

    def _send(self, message: EmailMessage) -> str:
        server = f"SMTP {self.host}:{self.port}"
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password)
                refused = smtp.send_message(message)
        except OSError as e:  # smtplib's errors are OSErrors too
            raise DeliveryError(f"{server}: {type(e).__name__}: {e}") from None
        if refused:
            raise DeliveryError(f"{server} refused {', '.join(refused)}")
        return f"accepted by {server}"


class WebhookSender:
    """POSTs notices as signed JSON; any answer but 2xx is a failure, to be retried."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        secrets: Mapping[str, str] | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.client = client
        self.secrets = os.environ if secrets is None else secrets
        self.timeout = timeout

    async def send(self, dispatch: Dispatch) -> str:
        secret = self.secrets.get(dispatch.secret_setting, "")
        if not secret:
            msg = f"{dispatch.secret_setting} is not set: no secret to sign the webhook with"
            raise DeliveryError(msg)
        body = webhook_body(dispatch)
        headers = {
            "Content-Type": "application/json",
            IDEMPOTENCY_HEADER: dispatch.idempotency_key,
            SIGNATURE_HEADER: signature(secret, body),
        }
        try:
            response = await self.client.post(
                dispatch.destination, content=body, headers=headers, timeout=self.timeout
            )
        except httpx.HTTPError as e:
            raise DeliveryError(f"{type(e).__name__}: {e}") from None
        if not response.is_success:
            raise DeliveryError(f"HTTP {response.status_code}")
        return f"HTTP {response.status_code}"
