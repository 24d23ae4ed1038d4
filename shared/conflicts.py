"""A write that collides with the service's own background writes is retried by the server.

A case is written by people over HTTP and by the service itself (a consumer applying what
another service published, say). When both append to the same case at once, the store refuses
the second (its version is taken), and the route answers 409. That answer is right for a client
that sent ``If-Match``: it asked to be told when the case changed under it. A client that did not
ask has nothing to reconcile, so :class:`RetryConflicts` sends its request through again, as
the client itself would, a few times with a short, growing pause. Each attempt is all or nothing
(a command's events are saved in one transaction), and an ``Idempotency-Key`` keeps a retried
entry single, so a retry cannot record twice. If the case still cannot be written the answer is
503 with ``Retry-After``: nothing was recorded, try again shortly.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

ATTEMPTS = 6
FIRST_PAUSE = 0.01
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class RetryConflicts:
    """ASGI middleware: a write without ``If-Match`` answered 409 is sent through again, up to
    :data:`ATTEMPTS` times, then answered 503 with ``Retry-After``."""

    def __init__(self, app: ASGIApp, *, attempts: int = ATTEMPTS) -> None:
        self.app = app
        self.attempts = attempts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in WRITES
            or any(name == b"if-match" for name, _ in scope["headers"])
        ):
            await self.app(scope, receive, send)
            return
        body = await _whole_body(receive)
        pause = FIRST_PAUSE
        for attempt in range(1, self.attempts + 1):
            attempt_ = _Attempt(body, receive)
            await self.app(scope, attempt_.receive, attempt_.send)
            if attempt_.status != 409:
                for message in attempt_.answer:
                    await send(message)
                return
            log.info(
                "%s %s collided with the service's own write (attempt %d of %d); retrying",
                scope["method"],
                scope["path"],
                attempt,
                self.attempts,
            )
            # Jitter, so that two requests that collided do not collide again in step.
            await asyncio.sleep(pause * (1 + random.random()))  # noqa: S311 - not a secret
            pause *= 2
        await _busy(send)


class _Attempt:
    """One pass of a request through the app: its body given again, its answer kept."""

    def __init__(self, body: bytes, receive: Receive) -> None:
        self._body: bytes | None = body
        self._receive = receive
        self.answer: list[Message] = []

    async def receive(self) -> Message:
        if self._body is not None:
            body, self._body = self._body, None
            return {"type": "http.request", "body": body, "more_body": False}
        return await self._receive()  # the client going away, if it does

    async def send(self, message: Message) -> None:
        self.answer.append(message)

    @property
    def status(self) -> int | None:
        return self.answer[0].get("status") if self.answer else None


async def _whole_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break  # the client left before sending it all
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _busy(send: Send) -> None:
    body: dict[str, Any] = {
        "detail": "the case is being written to by the service itself and this entry could not "
        "be recorded; nothing was recorded, send it again shortly (with the same "
        "Idempotency-Key)"
    }
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"retry-after", b"1"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
