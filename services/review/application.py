"""The review application: every case's chronology, built from upstream streams."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, ProcessingEvent
from eventsourcing.utils import get_topic

from services.review.chronology import Described, describe
from services.review.domain import CaseRecord
from services.review.domain.chain import ChainBreak, verify
from shared.application import ServiceApplication
from shared.contracts.streams import message_id


class CaseNotFoundError(LookupError):
    """No case record has that id."""


class Reviews(ServiceApplication):
    """Builds each case's record from what intake and referral publish."""

    name = "review"

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
        processing_event.collect_events(record)

    def _record_for(self, case_id: UUID, school: str, reference: str) -> CaseRecord:
        try:
            record: object = self.repository.get(case_id)
        except AggregateNotFoundError:
            return CaseRecord(id=case_id, school=school, reference=reference)
        assert isinstance(record, CaseRecord)
        return record

    def case_ids(self) -> Iterator[UUID]:
        """Every case review holds, in the order it opened them."""
        opened = get_topic(CaseRecord.Opened)
        start = None
        while True:
            page = self.recorder.select_notifications(
                start=start, limit=1000, topics=(opened,), inclusive_of_start=False
            )
            if not page:
                return
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
