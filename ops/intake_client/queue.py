"""The school's durable queue of disclosures not yet recorded by intake: one file per
disclosure, written so that after a crash at any point each is whole or absent (see
:mod:`ops.intake_client` for the layout and what sends them)."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

from services.intake.entrypoint import DisclosureIn
from shared.files import PRIVATE_FILE, private_dir

REJECTED_DIR = "rejected"
_REASON_SUFFIX = ".reason.json"


def describe_error(error: ValidationError) -> str:
    # pydantic's own message repeats the input; a summary may hold personal data or image data.
    return "; ".join(
        f"{'.'.join(str(part) for part in e['loc']) or 'input'}: {e['msg']}"
        for e in error.errors(include_input=False, include_url=False)
    )


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
                    key=key_of(stem),
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
            return f"unreadable queue file: {describe_error(e)}"
        except OSError as e:
            return f"unreadable queue file: {e.strerror}"


def key_of(stem: str) -> str:
    """The key in a queue file's name, ``<number>-<key>``."""
    return stem.partition("-")[2]
