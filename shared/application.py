"""The base of every service's eventsourcing application.

A service's own notification log is its outbox (see :mod:`shared.relay`), and what it receives
from upstream is applied with :meth:`EventSourcedProjection.process_event`, which writes the new
events and the upstream position in one transaction (see :mod:`shared.consumer`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, cast
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.application import ProcessingEvent
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import IntegrityError, Recording, Tracking
from eventsourcing.projection import EventSourcedProjection
from eventsourcing.utils import get_topic

from shared import transcoder
from shared.entries import AlreadyRecordedError, CaseEntry
from shared.entries import Recording as EntryRecording
from shared.references import CaseReferences
from shared.store import private_store
from shared.store_writes import StoreWrites
from shared.topics import topics_of

NAMESPACE = uuid5(NAMESPACE_URL, "https://safeguard.invalid/")

Clock = Callable[[], datetime]


class CaseChangedError(RuntimeError):
    """The case changed since the caller last read it: reload, check, and send again."""


class IdempotencyKeyReusedError(ValueError):
    """A retry's key names an entry recorded with other facts: refused, never silently merged."""


def user_key(user: str, idempotency_key: str | None) -> str:
    """An Idempotency-Key as an entry keeps it: scoped to the user who sent it, so that two
    users' keys never meet ("" for a request without one)."""
    return f"{user}:{idempotency_key}" if idempotency_key else ""


def key_reused(what: str) -> IdempotencyKeyReusedError:
    return IdempotencyKeyReusedError(
        f"this Idempotency-Key already recorded {what} with other details; "
        "send the new details with a new key"
    )


class DeadLetter(Aggregate):
    """An upstream message that kept failing and was set aside, so the stream could go on."""

    class Recorded(Aggregate.Created):
        upstream: str
        position: int
        subject: str
        error: str
        attempts: int
        dead_lettered_at: datetime
        case_id: str
        """The case the message was about, so that someone looks at it ("" when unknown)."""

        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["case_id"] = ""

    @event(Recorded)
    def __init__(
        self,
        upstream: str,
        position: int,
        subject: str,
        error: str,
        attempts: int,
        dead_lettered_at: datetime,
        case_id: str,
    ) -> None:
        self.upstream = upstream
        self.position = position
        self.subject = subject
        self.error = error
        self.attempts = attempts
        self.dead_lettered_at = dead_lettered_at
        self.case_id = case_id

    @staticmethod
    def create_id(upstream: str, position: int, *args: Any, **kwargs: Any) -> UUID:
        return uuid5(NAMESPACE, f"dead-letter:{upstream}:{position}")


@dataclass(frozen=True)
class DeadLetterNotice:
    """Given to :meth:`ServiceApplication.process_event` to record a dead letter exactly once."""

    upstream: str
    position: int
    subject: str
    error: str
    attempts: int
    at: datetime
    case_id: str = ""


class ServiceApplication(EventSourcedProjection[UUID]):
    """A safeguard service: stores its own events and applies what upstream services publish.

    Subclasses handle upstream contracts in :meth:`on_upstream`.
    """

    env: ClassVar[dict[str, str]] = {"TRANSCODER_TOPIC": transcoder.TOPIC}
    """Defaults under the environment a service is given: its events written by
    :class:`shared.transcoder.FastJSONTranscoder`."""

    case_opened: ClassVar[type[Aggregate.Created] | None] = None
    """The event that opens a case in this service, with the case's ``reference``: how a case
    is found by its reference (:meth:`case_named`)."""

    def __init__(self, env: dict[str, str] | None = None, clock: Clock | None = None) -> None:
        private_store(env or {})  # personal data: the store file 0600 before SQLite makes it
        super().__init__(env)
        self.clock: Clock = clock or (lambda: datetime.now(UTC))
        self._listeners: list[Callable[[], None]] = []
        self._listeners_lock = threading.Lock()
        # Whether the store takes writes, as requests, the relay and consumers last found.
        self.store_writes = StoreWrites()
        self._references = (
            CaseReferences(self, topics_of(self.case_opened)) if self.case_opened else None
        )

    def case_named(self, reference: str) -> UUID | None:
        """The id of the case ``reference`` (``OAK-2026-0002``) names, or None if no case
        of this service has it."""
        return self._references.case_id(reference) if self._references else None

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` (from any thread) after each commit, to wake the outbox relay."""
        with self._listeners_lock:
            self._listeners.append(listener)

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        """Save, then wake whatever listens for commits (the outbox relay)."""
        recordings = super().save(*objs, **kwargs)
        self._tell_listeners()
        return recordings

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Apply an upstream event with its tracking record, then wake the listeners."""
        super().process_event(domain_event, tracking)
        self._tell_listeners()

    def _tell_listeners(self) -> None:
        # Through the public save and process_event, not the library's private _notify hook.
        with self._listeners_lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener()

    def policy(self, domain_event: Any, processing_event: ProcessingEvent[UUID]) -> None:
        if isinstance(domain_event, DeadLetterNotice):
            processing_event.collect_events(
                DeadLetter(
                    upstream=domain_event.upstream,
                    position=domain_event.position,
                    subject=domain_event.subject,
                    error=domain_event.error,
                    attempts=domain_event.attempts,
                    dead_lettered_at=domain_event.at,
                    case_id=domain_event.case_id,
                )
            )
            return
        self.on_upstream(domain_event, processing_event)

    def apply_upstream(self, contract: object, tracking: Tracking) -> None:
        """Apply an upstream contract (or a :class:`DeadLetterNotice`) at ``tracking``: the new
        events and the tracking record are written in one transaction.

        Upstream contracts are not this service's domain events, hence the cast: the library's
        ``process_event`` hands them to :meth:`policy` untouched.
        """
        self.process_event(cast("Any", contract), tracking)

    def on_upstream(self, contract: Any, processing_event: ProcessingEvent[UUID]) -> None:
        """Apply one upstream contract by collecting new events on ``processing_event``.

        Subclasses override it (a ``singledispatchmethod``, or one lookup). Contracts a
        service does not act on still move its upstream position on.
        """

    def get_case(self, case_id: UUID) -> Aggregate:
        """The case an entry is recorded on (each service's own aggregate), or its own
        not-found error."""
        raise NotImplementedError

    def follows(self, kind: type[CaseEntry]) -> Callable[[Any], None] | None:
        """What follows from an entry of ``kind``, saved with it (a new assessment); None."""
        del kind
        return None

    def record_entry(
        self, case_id: UUID, kind: type[CaseEntry], **entry: Any
    ) -> tuple[CaseEntry, bool]:
        """Record one entry of a case, of a kind declared in the domain (such as
        ``DeviceSearched``), by the kind's own command, with what follows from it: ``entry``
        is what :meth:`record_on` takes (``details``, ``recorded_by``, ``recorded_by_role``
        and, if given, ``occurred_at``, ``idempotency_key``, ``expected_version``)."""
        return self.record_on(self.get_case(case_id), kind.record, then=self.follows(kind), **entry)

    def record_on(
        self,
        aggregate: Aggregate,
        command: Callable[..., None],
        *,
        details: dict[str, Any],
        recorded_by: str,
        recorded_by_role: str,
        occurred_at: datetime | None = None,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
        then: Callable[[Any], None] | None = None,
    ) -> tuple[CaseEntry, bool]:
        """Record one entry of a case by one of its commands (a kind's
        :meth:`CaseEntry.record`), called with a :class:`Recording` and ``details``;
        ``then`` may add what follows from it (a new assessment), saved with it.

        The entry and whether this call recorded it: a retry with the same key (scoped to the
        user) returns the entry its first attempt recorded, and the same key with other details
        is refused. ``expected_version`` is the version the caller read: if the case has moved
        on since, nothing is recorded (:class:`CaseChangedError`).
        """
        key = user_key(recorded_by, idempotency_key)
        kept: dict[str, CaseEntry] = getattr(aggregate, "entry_keys")  # noqa: B009
        if key in kept:
            entry = kept[key]
            if not entry.same_as(details):
                raise key_reused(f"a {type(entry).__name__} entry")
            return entry, False
        now = self.clock()
        try:
            command(
                aggregate,
                EntryRecording(recorded_by, recorded_by_role, occurred_at or now, now, key),
                **details,
            )
        except AlreadyRecordedError as e:
            return e.entry, False
        recorded = aggregate.pending_events[0]
        assert isinstance(recorded, CaseEntry)
        if then is not None:
            then(aggregate)
        self.save_change(aggregate, expected_version, len(aggregate.pending_events))
        return recorded, True

    def save_change(self, aggregate: Aggregate, expected_version: int | None, new: int = 1) -> None:
        """Save ``new`` events of a case that the caller read at ``expected_version``."""
        read_at = aggregate.version - new
        if expected_version is not None and read_at != expected_version:
            msg = f"the case is at version {read_at}, not {expected_version}"
            raise CaseChangedError(msg)
        try:
            self.save(aggregate)
        except IntegrityError:
            msg = "the case changed while this entry was being recorded"
            raise CaseChangedError(msg) from None

    def health(self) -> dict[str, Any]:
        """What this service adds to /readyz (work that needs a person's attention)."""
        return {}

    def dead_letters(self) -> list[DeadLetter]:
        """Every dead letter this service has recorded, oldest first."""
        found: list[DeadLetter] = []
        for notification in self.recorder.select_notifications(
            start=None, limit=10_000, topics=(get_topic(DeadLetter.Recorded),)
        ):
            letter: object = self.repository.get(UUID(str(notification.originator_id)))
            assert isinstance(letter, DeadLetter)
            found.append(letter)
        return found
