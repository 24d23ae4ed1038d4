"""The per-school intake client: records disclosures over intake's HTTP API, and never loses one.

Every disclosure is first written to a file in a queue directory, with its ``Idempotency-Key``
and its ``occurred_at`` fixed, and only then sent. If intake cannot be reached, or answers that it
is busy, the file stays and :meth:`IntakeClient.flush` sends it later, oldest first, with the same
key, so intake records it exactly once whatever happened to the earlier attempts. A refusal that no
retry can change (a 4xx) moves the file to ``rejected/`` with the reason, for a person to look at.

Queue layout (``queue_dir``, mode 0700; every file mode 0600, since each holds personal data)::

    000000000001-<key>.json          a queued disclosure; the number orders them
    rejected/000000000001-<key>.json the same file, moved when intake refused it
    rejected/000000000001-<key>.reason.json  why (HTTP status and intake's detail)
    .enqueue.lock  .flush.lock       fcntl.flock locks
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from uuid import UUID

import httpx
from pydantic import ValidationError

from ops.intake_client.queue import (
    REJECTED_DIR,
    DisclosureQueue,
    QueuedDisclosure,
    QueueEntry,
    RejectedEntry,
    describe_error,
    key_of,
)
from services.intake.entrypoint import CaseOut, DisclosureIn

__all__ = [
    "REJECTED_DIR",
    "DisclosureQueue",
    "IntakeClient",
    "IntakeRequestError",
    "InvalidDisclosureError",
    "Outcome",
    "QueueEntry",
    "QueuedDisclosure",
    "RecordResult",
    "RejectedEntry",
]

log = logging.getLogger(__name__)

# Intake has taken the request into its queue of work, or a proxy in front of it has: a retry
# with the same key is safe and may well succeed later.
_RETRYABLE_4XX = frozenset({408, 429})


class Outcome(StrEnum):
    """What happened to one disclosure."""

    RECORDED = "recorded"  # 201: intake recorded it now
    ALREADY_RECORDED = "already_recorded"  # 200: an earlier attempt with this key recorded it
    QUEUED = "queued"  # kept in the queue; flush() sends it later
    REJECTED = "rejected"  # intake refused it; moved to rejected/ with the reason


@dataclass(frozen=True)
class RecordResult:
    """The outcome for one disclosure, identified by its idempotency key."""

    outcome: Outcome
    key: str
    case: CaseOut | None = None
    status_code: int | None = None
    reason: str = ""

    @property
    def reference(self) -> str | None:
        return self.case.reference if self.case is not None else None

    @property
    def delivered(self) -> bool:
        return self.outcome in (Outcome.RECORDED, Outcome.ALREADY_RECORDED)


class InvalidDisclosureError(ValueError):
    """The disclosure cannot be sent as it is; the message names the fields, not their values."""


class IntakeRequestError(RuntimeError):
    """Intake answered a request with an error (or could not be reached: ``status_code`` None)."""

    def __init__(self, status_code: int | None, detail: str) -> None:
        super().__init__(f"{status_code}: {detail}" if status_code else detail)
        self.status_code = status_code
        self.detail = detail


class IntakeClient:
    """Records disclosures at intake for one school's staff, through a durable offline queue.

    ``http`` lets a caller (a test) supply the ``httpx.Client``; it is then not closed here.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        queue_dir: Path | str,
        *,
        timeout: float = 10.0,
        http: httpx.Client | None = None,
    ) -> None:
        url = httpx.URL(base_url)
        if url.scheme not in ("http", "https") or not url.host:
            msg = f"intake URL must be http(s)://host[:port], not {base_url!r}"
            raise ValueError(msg)
        if not token:
            msg = "a bearer token is required"
            raise ValueError(msg)
        self.base_url = base_url.rstrip("/")
        self.queue = DisclosureQueue(Path(queue_dir))
        self._token = token
        self._owns_http = http is None
        self._http = http if http is not None else httpx.Client(timeout=timeout)

    def __enter__(self) -> IntakeClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def record_disclosure(
        self,
        school: str,
        disclosure_route: str,
        summary: str,
        occurred_at: datetime | None = None,
    ) -> RecordResult:
        """Queue the disclosure durably, then send it (after any older queued ones).

        Raises :class:`InvalidDisclosureError` for input intake would refuse anyway (nothing is
        written then, so text carrying an image never reaches the disk), and ``OSError`` if the
        queue cannot be written. Otherwise it never raises: an unreachable or busy intake leaves
        the disclosure queued, and the result says so.
        """
        try:
            disclosure = DisclosureIn.model_validate(
                {
                    "school": school,
                    "disclosure_route": disclosure_route,
                    "summary": summary,
                    # Fixed now, before the first attempt: a disclosure sent after an outage
                    # keeps the time it was made, and every retry sends the same facts.
                    "occurred_at": occurred_at if occurred_at is not None else datetime.now(UTC),
                }
            )
        except ValidationError as e:
            raise InvalidDisclosureError(describe_error(e)) from None
        entry = self.queue.add(disclosure)
        # Older queued disclosures go first, so that references follow the order of recording.
        results, stopped = self._flush(until=entry.key)
        for result in results:
            if result.key == entry.key:
                return result
        if entry.path.exists():
            reason = stopped.reason if stopped is not None else ""
            status = stopped.status_code if stopped is not None else None
            if stopped is not None and stopped.key != entry.key:
                reason = f"an older queued disclosure could not be sent: {reason}"
            return RecordResult(Outcome.QUEUED, entry.key, status_code=status, reason=reason)
        # A concurrent flush dealt with it while this one waited for the lock.
        rejection = self.queue.rejection(entry.path)
        if rejection is not None:
            return RecordResult(
                Outcome.REJECTED,
                entry.key,
                status_code=rejection.status_code,
                reason=rejection.reason,
            )
        # Delivered: the same key fetches the same case (200), and touches no file.
        return self._send(entry, queued=False)

    def flush(self) -> list[RecordResult]:
        """Send every queued disclosure, oldest first, with its original key and occurred_at.

        Stops at the first one that still cannot be delivered, so that order is kept; that one
        is the last result, with outcome ``QUEUED``. Refused ones move to ``rejected/`` and the
        flush goes on. A concurrent flush (any process) is waited for, never overlapped.
        """
        results, stopped = self._flush()
        return [*results, stopped] if stopped is not None else results

    def queued(self) -> list[QueueEntry]:
        """The disclosures waiting to be sent, oldest first."""
        return self.queue.entries()

    def rejected(self) -> list[RejectedEntry]:
        """The disclosures intake refused, with the reasons."""
        return self.queue.rejected()

    def get_case(self, case_id: UUID | str) -> CaseOut:
        """A case as intake holds it; :class:`IntakeRequestError` if it cannot be had."""
        try:
            response = self._http.get(f"{self.base_url}/cases/{case_id}", headers=self._auth())
        except httpx.HTTPError as e:
            raise IntakeRequestError(None, f"intake unreachable: {type(e).__name__}") from None
        if response.status_code != 200:
            raise IntakeRequestError(response.status_code, _detail(response))
        return CaseOut.model_validate_json(response.content)

    def _flush(self, until: str | None = None) -> tuple[list[RecordResult], RecordResult | None]:
        """Deliver queued entries in order (up to and including ``until``).

        Returns the results of the entries dealt with, and the result of the entry the flush
        stopped at, if any.
        """
        results: list[RecordResult] = []
        with self.queue.lock("flush"):
            # Listed only once the lock is held: entries a concurrent flush delivered are gone.
            self.queue.remove_stale_temp_files()
            for path, entry in self.queue.items():
                if isinstance(entry, str):
                    # Kept for a person to read, never dropped; without it the queue would stop
                    # here for good.
                    self.queue.reject(path, None, entry)
                    log.error("intake queue: %s moved to rejected/: %s", path.name, entry)
                    key = key_of(path.name.removesuffix(".json"))
                    results.append(RecordResult(Outcome.REJECTED, key, reason=entry))
                    continue
                result = self._send(entry)
                if result.outcome == Outcome.QUEUED:
                    return results, result
                results.append(result)
                if entry.key == until:
                    break
        return results, None

    def _send(self, entry: QueueEntry, *, queued: bool = True) -> RecordResult:
        """POST one entry; with ``queued``, remove or reject its file as the answer says."""
        key = entry.key
        try:
            response = self._http.post(
                f"{self.base_url}/cases",
                content=entry.item.disclosure.model_dump_json(),
                headers={
                    **self._auth(),
                    "Content-Type": "application/json",
                    "Idempotency-Key": key,
                },
            )
        except httpx.HTTPError as e:
            # Unreachable, timed out, or cut off mid-answer: intake may or may not have recorded
            # it, and the same key makes the next attempt safe either way.
            return RecordResult(
                Outcome.QUEUED, key, reason=f"intake unreachable: {type(e).__name__}"
            )
        status = response.status_code
        if status in (200, 201):
            try:
                case = CaseOut.model_validate_json(response.content)
            except ValidationError:
                return RecordResult(
                    Outcome.QUEUED, key, status_code=status, reason="unexpected answer from intake"
                )
            if queued:
                self._discard(entry)
            outcome = Outcome.RECORDED if status == 201 else Outcome.ALREADY_RECORDED
            return RecordResult(outcome, key, case, status)
        detail = _detail(response)
        if status == 401:
            # The token, not the disclosure, is at fault: every entry would be refused alike, and
            # each would be accepted with a fresh token. Keep them all.
            return RecordResult(
                Outcome.QUEUED, key, status_code=status, reason=f"token refused: {detail}"
            )
        if 400 <= status < 500 and status not in _RETRYABLE_4XX:
            if queued:
                self.queue.reject(entry.path, status, detail)
            log.error("intake refused queued disclosure %s (%s): %s", key, status, detail)
            return RecordResult(Outcome.REJECTED, key, status_code=status, reason=detail)
        # 5xx (503 with Retry-After when intake's store is busy), 408, 429, anything unexpected.
        retry_after = response.headers.get("Retry-After")
        reason = f"intake answered {status}: {detail}"
        if retry_after:
            reason += f" (retry after {retry_after}s)"
        return RecordResult(Outcome.QUEUED, key, status_code=status, reason=reason)

    def _discard(self, entry: QueueEntry) -> None:
        try:
            self.queue.remove(entry)
        except OSError as e:
            # Recorded all the same; the next flush re-sends it and intake answers 200, same case.
            log.warning("intake queue: %s recorded but not removed: %s", entry.path.name, e)

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"}


def _detail(response: httpx.Response) -> str:
    """Intake's own explanation (it never repeats the input), else the status text."""
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase or str(response.status_code)
    detail = body.get("detail") if isinstance(body, dict) else None
    if detail is None:
        return response.reason_phrase or str(response.status_code)
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, dict):
                loc = ".".join(str(p) for p in item.get("loc", []) if p != "body")
                parts.append(f"{loc}: {item.get('msg', '')}" if loc else str(item.get("msg", "")))
        if parts:
            return "; ".join(parts)
    return json.dumps(detail)
