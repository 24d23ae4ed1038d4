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

import contextlib
import fcntl
import json
import logging
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Any
from uuid import UUID

import httpx
from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

from services.intake.entrypoint import CaseOut, DisclosureIn
from shared.files import PRIVATE_FILE, private_dir

log = logging.getLogger(__name__)

REJECTED_DIR = "rejected"
_REASON_SUFFIX = ".reason.json"
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


class QueuedDisclosure(BaseModel):
    """One queued disclosure as stored on disk: the request exactly as it will be sent."""

    model_config = ConfigDict(extra="forbid")

    version: int = 1
    key: str
    queued_at: AwareDatetime
    disclosure: DisclosureIn


@dataclass(frozen=True)
class QueueEntry:
    """A queued disclosure and the file that holds it."""

    path: Path
    item: QueuedDisclosure

    @property
    def key(self) -> str:
        return self.item.key


@dataclass(frozen=True)
class RejectedEntry:
    """A disclosure intake refused, kept with the reason."""

    path: Path
    key: str
    status_code: int | None
    reason: str
    rejected_at: str


class InvalidDisclosureError(ValueError):
    """The disclosure cannot be sent as it is; the message names the fields, not their values."""


class IntakeRequestError(RuntimeError):
    """Intake answered a request with an error (or could not be reached: ``status_code`` None)."""

    def __init__(self, status_code: int | None, detail: str) -> None:
        super().__init__(f"{status_code}: {detail}" if status_code else detail)
        self.status_code = status_code
        self.detail = detail


def _describe(error: ValidationError) -> str:
    # pydantic's own message repeats the input; a summary may hold personal data or image data.
    return "; ".join(
        f"{'.'.join(str(part) for part in e['loc']) or 'input'}: {e['msg']}"
        for e in error.errors(include_input=False, include_url=False)
    )


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_durably(path: Path, data: bytes) -> None:
    """Write ``path`` so that, after a crash at any point, it is either whole or absent."""
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise
    # The rename is durable only once the directory entry is.
    _fsync_dir(path.parent)


class DisclosureQueue:
    """The durable queue of disclosures not yet recorded by intake, one file per disclosure."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.rejected_dir = self.directory / REJECTED_DIR
        private_dir(self.rejected_dir)  # and the queue directory, and any missing parent

    @contextlib.contextmanager
    def lock(self, name: str) -> Iterator[None]:
        """Hold an exclusive ``flock`` on ``.<name>.lock``, across processes and threads."""
        fd = os.open(self.directory / f".{name}.lock", os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
        try:
            # flock (not lockf) locks the open file, so two clients in one process exclude each
            # other too.
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def add(self, disclosure: DisclosureIn) -> QueueEntry:
        """Store a new disclosure under a fresh key, after every disclosure already queued."""
        item = QueuedDisclosure(
            key=str(uuid.uuid4()), queued_at=datetime.now(UTC), disclosure=disclosure
        )
        data = item.model_dump_json(indent=2).encode()
        # A number, not a timestamp, orders the queue: a clock set back must not reorder it.
        with self.lock("enqueue"):
            number = max((self._number(p) for p in self._files()), default=0) + 1
            path = self.directory / f"{number:012d}-{item.key}.json"
            _write_durably(path, data)
        return QueueEntry(path, item)

    def entries(self) -> list[QueueEntry]:
        """The queued disclosures, oldest first (a file that cannot be read is left out)."""
        return [e for e in map(self._read, self._files()) if isinstance(e, QueueEntry)]

    def items(self) -> list[tuple[Path, QueueEntry | str]]:
        """Every queued file, oldest first: its disclosure, or why it cannot be read."""
        return [(p, self._read(p)) for p in self._files()]

    def remove(self, entry: QueueEntry) -> None:
        entry.path.unlink(missing_ok=True)

    def rejection(self, path: Path) -> RejectedEntry | None:
        """The rejection of the queued file ``path``, if it was moved to ``rejected/``."""
        stem = path.name.removesuffix(".json")
        return next((r for r in self.rejected() if r.path.name == f"{stem}.json"), None)

    def reject(self, path: Path, status_code: int | None, reason: str) -> Path:
        """Move a queued file to ``rejected/``, its reason written beside it first."""
        reason_doc = {
            "status_code": status_code,
            "reason": reason,
            "rejected_at": datetime.now(UTC).isoformat(),
        }
        stem = path.name.removesuffix(".json")
        _write_durably(
            self.rejected_dir / f"{stem}{_REASON_SUFFIX}", json.dumps(reason_doc).encode()
        )
        # A crash before this rename leaves the entry queued: the next flush is refused again
        # and writes the same reason again.
        target = self.rejected_dir / path.name
        os.replace(path, target)
        _fsync_dir(self.rejected_dir)
        _fsync_dir(self.directory)
        return target

    def rejected(self) -> list[RejectedEntry]:
        """Everything intake refused, oldest first."""
        found = []
        for reason_path in sorted(self.rejected_dir.glob(f"*{_REASON_SUFFIX}")):
            stem = reason_path.name.removesuffix(_REASON_SUFFIX)
            try:
                doc: dict[str, Any] = json.loads(reason_path.read_text())
            except (OSError, ValueError):
                doc = {"reason": "reason file unreadable"}
            found.append(
                RejectedEntry(
                    path=self.rejected_dir / f"{stem}.json",
                    key=_key_of(stem),
                    status_code=doc.get("status_code"),
                    reason=str(doc.get("reason", "")),
                    rejected_at=str(doc.get("rejected_at", "")),
                )
            )
        return found

    def remove_stale_temp_files(self) -> None:
        """Temp files a crashed writer left: half a disclosure is never sent, but is personal."""
        with self.lock("enqueue"):
            for d in (self.directory, self.rejected_dir):
                for temp in d.glob(".*.tmp"):
                    temp.unlink(missing_ok=True)

    def _files(self) -> list[Path]:
        # Zero-padded numbers: the names sort in the order the disclosures were queued.
        return sorted(p for p in self.directory.glob("*.json") if not p.name.startswith("."))

    @staticmethod
    def _number(path: Path) -> int:
        head = path.name.partition("-")[0]
        return int(head) if head.isdigit() else 0

    @staticmethod
    def _read(path: Path) -> QueueEntry | str:
        try:
            return QueueEntry(path, QueuedDisclosure.model_validate_json(path.read_bytes()))
        except ValidationError as e:
            return f"unreadable queue file: {_describe(e)}"
        except OSError as e:
            return f"unreadable queue file: {e.strerror}"


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
            raise InvalidDisclosureError(_describe(e)) from None
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
                    key = _key_of(path.name.removesuffix(".json"))
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


def _key_of(stem: str) -> str:
    """The key in a queue file's name, ``<number>-<key>``."""
    return stem.partition("-")[2]


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
