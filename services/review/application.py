"""The review application: every case's chronology, built from upstream streams; its views
(:mod:`services.review.domain.case_view`); policy steps 7 and 8, the child-protection file's
transfers and every read of a case, as review's own entries (declared in the domain's step
modules, :mod:`services.review.domain.own_entries`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any, Required, TypedDict, Unpack
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import get_topic

from services.review.domain import OWN_SUBJECT_PREFIX, CaseRecord, SchoolCases
from services.review.domain.access_log import CaseRead, version_of
from services.review.domain.actions import ActionView
from services.review.domain.case_view import OWN_KINDS, CaseView, case_view
from services.review.domain.chain import ChainBreak, verify
from services.review.domain.chronology import Described, describe
from services.review.domain.containment import CONTAINMENT
from services.review.domain.file_transfer import FileReceived, FileSent, TransferView
from services.review.domain.own_entries import own_facts, own_payload
from services.review.domain.review_and_closure import CaseClosed, CaseReopened, ReviewRecorded
from shared.application import CaseChangedError, ServiceApplication, key_reused, user_key
from shared.contracts.streams import message_id
from shared.entries import check_occurred_before_recorded

ATTEMPTS = 5
"""How often an HTTP-driven entry is tried when the case changed under it (a consumer, or
another instance of review, appended to it meanwhile) before answering 409."""

READ_ATTEMPTS = 20
"""A read must not fail because of a concurrent write: it is tried again, many times."""


class CaseNotFoundError(LookupError):
    """No case record has that id."""


class Recording(TypedDict, total=False):
    """How one of review's own entries is sent: who records it, in which role, when it happened
    (default: now), the retry's idempotency key, and the case version it was written against
    (the ``If-Match``)."""

    recorded_by: Required[str]
    recorded_by_role: Required[str]
    occurred_at: datetime | None
    idempotency_key: str | None
    expected_version: int | None


Recorded = tuple[CaseRecord.EntryRecorded, CaseRecord, bool]
"""The entry, the record after it, and whether this call recorded it (False: a retry's first
attempt did)."""


class Reviews(ServiceApplication):
    """Builds each case's record from what intake and referral publish."""

    name = "review"
    case_opened = CaseRecord.Opened

    def on_upstream(self, contract: Any, processing_event: ProcessingEvent[UUID]) -> None:
        """One chronology entry for each contract :func:`describe` puts into words; the rest
        still move review's upstream position on, as every contract does."""
        described = describe(contract)
        if described is not None:
            self._entry(contract, processing_event, described)

    def _entry(
        self, contract: Any, processing_event: ProcessingEvent[UUID], described: Described
    ) -> None:
        """One chronology entry from an upstream contract: by default its recorder is the actor,
        and its producer and position are the source."""
        record = self._record_for(contract.case_id, contract.school, contract.reference)
        # A record just opened carries its Opened event, not yet saved.
        opened = bool(record.pending_events)
        assert processing_event.tracking is not None
        record.record_entry(
            kind=described.kind,
            summary=described.summary,
            actor=described.actor or contract.recorded_by,
            actor_role=described.actor_role or contract.recorded_by_role,
            occurred_at=contract.occurred_at,
            recorded_at=contract.recorded_at,
            source=message_id(contract.producer, processing_event.tracking.notification_id),
            subject=contract.subject,
            payload=contract.model_dump_json(),
        )
        if opened:
            # The school's index gains the case in the same transaction as its first entry.
            index = self._school_index(contract.school)
            index.add_case(record.id)
            processing_event.collect_events(record, index)
        else:
            processing_event.collect_events(record)

    def _school_index(self, school: str) -> SchoolCases:
        try:
            index: object = self.repository.get(SchoolCases.create_id(school))
        except AggregateNotFoundError:
            return SchoolCases(school=school)
        assert isinstance(index, SchoolCases)
        return index

    def _record_for(self, case_id: UUID, school: str, reference: str) -> CaseRecord:
        try:
            record: object = self.repository.get(case_id)
        except AggregateNotFoundError:
            return CaseRecord(id=case_id, school=school, reference=reference)
        assert isinstance(record, CaseRecord)
        return record

    def case_ids(self) -> Iterator[UUID]:
        """Every case review holds, in the order it opened them."""
        return self._originators(CaseRecord.Opened)

    def _originators(self, started: type[Aggregate.Created]) -> Iterator[UUID]:
        """The aggregates created by a ``started`` event, in the order they were created."""
        topic = get_topic(started)
        start = None
        while page := self.recorder.select_notifications(
            start=start, limit=1000, topics=(topic,), inclusive_of_start=False
        ):
            yield from (UUID(str(n.originator_id)) for n in page)
            start = page[-1].id

    def verify(self, case_id: UUID) -> ChainBreak | None:
        """Check a case's hash chain from its stored events (read from the store, not from a
        snapshot or a cache): the first break, or None."""
        stored = self.repository.event_store.get(case_id)
        return verify(vars(e) for e in stored if isinstance(e, CaseRecord.EntryRecorded))

    def get_case(self, case_id: UUID) -> CaseRecord:
        try:
            record: object = self.repository.get(case_id)
        except AggregateNotFoundError:
            raise CaseNotFoundError(case_id) from None
        if not isinstance(record, CaseRecord):
            raise CaseNotFoundError(case_id)
        return record

    # The school index, and views.

    def school_case_ids(self, school: str) -> list[UUID]:
        """The cases of ``school``, in the order review opened them, from its index."""
        try:
            index: object = self.repository.get(SchoolCases.create_id(school))
        except AggregateNotFoundError:
            return []
        assert isinstance(index, SchoolCases)
        return list(index.case_ids)

    def schools(self) -> list[str]:
        """Every school review holds a case of, by its index."""
        schools: list[str] = []
        for index_id in self._originators(SchoolCases.Started):
            index: object = self.repository.get(index_id)
            assert isinstance(index, SchoolCases)
            schools.append(index.school)
        return sorted(schools)

    def case_view(self, case_id: UUID, *, as_of: datetime | None = None) -> CaseView:
        """The case as it stands (overdue judged now), or as it stood at ``as_of``. Recording
        who read it is the caller's (:meth:`record_read`), so that a view built for an export
        or a list is not counted as a read of its own."""
        return case_view(self.get_case(case_id), now=self.clock(), as_of=as_of)

    def school_cases(self, school: str) -> list[CaseView]:
        """The view of each case of ``school``: its index, then those cases only."""
        now = self.clock()
        return [case_view(self.get_case(c), now=now) for c in self.school_case_ids(school)]

    def overdue(self, schools: Iterable[str]) -> list[tuple[CaseView, ActionView]]:
        """Every overdue action of the cases of ``schools``, the longest overdue first."""
        found = [(view, a) for view in self._cases_of(schools) for a in view.overdue_actions]
        return sorted(found, key=lambda pair: pair[1].due_at)

    def overdue_transfers(self, schools: Iterable[str]) -> list[tuple[CaseView, TransferView]]:
        """Every child-protection file of ``schools``' cases not confirmed as received in
        time, the longest overdue first."""
        found = [(view, t) for view in self._cases_of(schools) for t in view.overdue_transfers]
        return sorted(found, key=lambda pair: pair[1].due_on)

    def _cases_of(self, schools: Iterable[str]) -> Iterator[CaseView]:
        return (view for school in schools for view in self.school_cases(school))

    # The access log.

    def record_read(
        self,
        case_id: UUID,
        *,
        user: str,
        role: str,
        what: str,
        at: datetime | None = None,
        as_of: datetime | None = None,
    ) -> CaseRecord:
        """Record that ``user``, in ``role``, read ``what`` of the case (``case_view``,
        ``chronology``, an export...) at ``at`` (default now), as it stood at ``as_of`` if
        given. Returns the record with the read on it. Tried again when the case changed
        meanwhile: a read never fails because of a concurrent write."""
        facts = {"what": what, "as_of": as_of.isoformat() if as_of else None}
        _, record, _ = self.record_own_entry(
            case_id,
            CaseRead.KIND,
            facts,
            attempts=READ_ATTEMPTS,
            recorded_by=user,
            recorded_by_role=role,
            occurred_at=at,
        )
        return record

    # Steps 7 and 8, and the child-protection file: review's own entries, sent over HTTP.

    def record_step(
        self,
        case_id: UUID,
        kind: str,
        facts: Mapping[str, Any],
        **recording: Unpack[Recording],
    ) -> Recorded:
        """Record a step 7 or step 8 entry (a review of outcomes and procedures) of ``kind``
        with its ``facts`` (codes and words, JSON-ready). Closing and reopening have their own
        commands, with their rules."""
        if kind not in _STEPS:
            msg = f"{kind} is not a step 7 or step 8 entry"
            raise ValueError(msg)
        return self.record_own_entry(case_id, kind, facts, **recording)

    def close_case(
        self, case_id: UUID, *, note: str = "", **recording: Unpack[Recording]
    ) -> Recorded:
        """Close the case (step 8), if :class:`CaseClosed`'s rules allow: refused, with every
        reason, while anything is left to do."""
        return self.record_own_entry(case_id, CaseClosed.KIND, {"note": note}, **recording)

    def reopen_case(
        self, case_id: UUID, *, reason: str, **recording: Unpack[Recording]
    ) -> Recorded:
        """Reopen a closed case, with the reason; it is then reviewed again before closing."""
        return self.record_own_entry(case_id, CaseReopened.KIND, {"reason": reason}, **recording)

    def send_file(
        self, case_id: UUID, facts: Mapping[str, Any], **recording: Unpack[Recording]
    ) -> Recorded:
        """Record that the DSL sent the young person's child-protection file to their new
        school (:class:`FileSent`: ``facts`` are its fields). Its receipt is due within five
        school days of ``occurred_at``."""
        return self.record_own_entry(case_id, FileSent.KIND, facts, **recording)

    def confirm_receipt(
        self, case_id: UUID, facts: Mapping[str, Any], **recording: Unpack[Recording]
    ) -> Recorded:
        """Record the receiving school's confirmation of receipt (:class:`FileReceived`:
        ``transfer`` None confirms the latest transfer not yet confirmed); ``occurred_at`` is
        when they confirmed. Refused without a transfer to confirm."""
        return self.record_own_entry(case_id, FileReceived.KIND, facts, **recording)

    def record_own_entry(
        self,
        case_id: UUID,
        kind: str,
        facts: Mapping[str, Any],
        *,
        attempts: int = ATTEMPTS,
        **recording: Unpack[Recording],
    ) -> Recorded:
        """Record one of review's own entries of ``kind`` (its declaration's name: steps 7 and
        8, transfers, reads) with its ``facts`` as sent, if the declaration takes them and its
        rules (:meth:`~services.review.domain.own_entries.OwnKind.check`) allow, checked on the
        case as it stands in the same attempt as the write.

        A retry with the same key (scoped to the user) returns the entry its first attempt
        recorded, and the same key with other facts is refused. Tried again, up to ``attempts``
        times, if the case changed while it was being recorded; ``expected_version`` (reads do
        not count) is checked each time.

        The consumers apply upstream messages under ``processing_lock``; taking it here keeps
        this process's own writes from racing them. Another instance of review can still
        append in between, which the store refuses (IntegrityError: try again)."""
        if kind not in OWN_KINDS:
            msg = f"{kind} is not one of review's own entries"
            raise ValueError(msg)
        entry = OWN_KINDS[kind].of(facts)
        by = recording["recorded_by"]
        idempotency_key = recording.get("idempotency_key")
        key = user_key(by, idempotency_key)
        expected_version = recording.get("expected_version")
        for _ in range(attempts):
            with self.processing_lock:
                record = self.get_case(case_id)
                if key and (found := _keyed(record, key)) is not None:
                    if own_facts(found.payload)[0] != dict(facts):
                        raise key_reused(f"a {found.kind} entry")
                    return found, record, False
                version = version_of(record.entries)
                if expected_version is not None and version != expected_version:
                    msg = f"the case is at version {version}, not {expected_version}"
                    raise CaseChangedError(msg)
                now = self.clock()
                if entry.has_rules():
                    entry.check(case_view(record, now=now), recording.get("occurred_at"))
                occurred = recording.get("occurred_at") or now
                check_occurred_before_recorded(occurred, now)
                record.record_own(
                    kind=kind,
                    summary=entry.words(),
                    actor=by,
                    actor_role=recording["recorded_by_role"],
                    occurred_at=occurred,
                    recorded_at=now,
                    payload=own_payload(facts, key),
                )
                try:
                    self.save(record)
                except IntegrityError:
                    continue
                return record.entries[-1], record, True
        what = "its read" if kind == CaseRead.KIND else "this entry"
        msg = f"the case kept changing while {what} was being recorded"
        raise CaseChangedError(msg)


_STEPS = {*(kind.KIND for kind in CONTAINMENT), ReviewRecorded.KIND}
"""What :meth:`Reviews.record_step` records: the kinds of steps 7 and 8 without rules."""


def _keyed(record: CaseRecord, key: str) -> CaseRecord.EntryRecorded | None:
    """The own entry an idempotency key recorded, if any (the latest first: a retry follows
    soon after its first attempt). Reads carry no key."""
    for entry in reversed(record.entries):
        if (
            entry.subject.startswith(OWN_SUBJECT_PREFIX)
            and entry.kind != CaseRead.KIND
            and own_facts(entry.payload)[1] == key
        ):
            return entry
    return None
