"""A case's human reference (``OAK-2026-0002``, made by intake and carried by every contract
about the case), and finding the case it names in a service's own store.

Each service opens a case with an event that carries its reference (intake's
``Incident.Reported``, referral's ``Referral.Opened``, review's ``CaseRecord.Opened``), so the
references a service knows are in its notification log already. :class:`CaseReferences` reads
those events, and only those, from the log into memory, from where it last stopped: nothing is
stored twice, and cases recorded before the references were looked up are found as well.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.persistence import Notification

REFERENCE_PATTERN = r"^[A-Za-z]{2,8}-\d{4}-\d{4,}$"
"""A case reference as intake makes it (school, year, number), in any case of letters."""

PAGE = 1000


class _Log(Protocol):
    """What :class:`CaseReferences` reads of an application: its recorder and mapper."""

    @property
    def recorder(self) -> Any: ...

    @property
    def mapper(self) -> Any: ...


class CaseReferences:
    """The case id each reference names, from the events of ``topics`` (a case opened, with its
    reference) in an application's notification log.

    A reference not seen yet makes it read the events recorded since it last read (usually
    none); the first look-up in a process reads every case's opening once."""

    def __init__(self, app: _Log, topics: tuple[str, ...]) -> None:
        self._app = app
        self._topics = topics
        self._case_ids: dict[str, UUID] = {}
        self._read_to: int | None = None
        self._lock = threading.Lock()

    def case_id(self, reference: str) -> UUID | None:
        """The case ``reference`` names (letters in any case), or None if none does."""
        reference = reference.upper()
        found = self._case_ids.get(reference)
        if found is not None:
            return found
        with self._lock:
            self._read_new()
        return self._case_ids.get(reference)

    def _read_new(self) -> None:
        while page := self._app.recorder.select_notifications(
            start=self._read_to,
            limit=PAGE,
            topics=self._topics,
            inclusive_of_start=self._read_to is None,
        ):
            for notification in page:
                self._note(notification)
            self._read_to = page[-1].id

    def _note(self, notification: Notification) -> None:
        opened = self._app.mapper.to_domain_event(notification)
        self._case_ids[opened.reference.upper()] = UUID(str(notification.originator_id))
