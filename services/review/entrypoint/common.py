"""What every review route shares: the router, who reads cases, finding a visible case, reading
it on the record, and the routes that record one of review's own entries."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, Self
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status

from services.review.application import CaseNotFoundError, Reviews
from services.review.domain import CaseRecord
from services.review.domain.access_log import version_of
from services.review.domain.own_entries import OwnKind, own_facts
from services.review.domain.review_and_closure import ClosureRefusedError
from services.review.domain.said import EntrySaid
from shared.application import CaseChangedError
from shared.entry_routes import entry_in
from shared.http import (
    EntryIn,
    application_of,
    entry_errors,
    expected_version,
    post_entry_route,
    refuse_future,
)
from shared.http import visible_case as shared_visible_case
from shared.identity import Authorize, Principal, Role, case_not_found
from shared.local_time import read_local_times

CASE_READERS = Authorize(Role.DSL, Role.HEAD, Role.AUDITOR)
DECIDERS = Authorize(Role.DSL, Role.HEAD)

# One router for every review route, so that the routes stay listed in one place.
router = APIRouter(tags=["cases"], dependencies=[Depends(read_local_times)])


def reviews_of(request: Request) -> Reviews:
    return application_of(request, Reviews)


def visible_case(request: Request, principal: Principal, case_id: UUID) -> CaseRecord:
    """The case, if the principal may see it; else 404, as for a case that does not exist."""
    record: CaseRecord = shared_visible_case(request, principal, case_id, missing=CaseNotFoundError)
    return record


def read_case(
    request: Request,
    principal: Principal,
    case_id: UUID,
    what: str,
    as_of: datetime | None,
    *,
    nothing_was: str,
) -> CaseRecord:
    """The visible case, with this read of ``what`` recorded on it; 404 saying so if ``as_of``
    is before anything of the case was on record (nothing is shown, so no read is recorded);
    503 (``nothing_was`` shown, exported...) if the case kept changing while the read was
    being recorded."""
    record = visible_case(request, principal, case_id)
    if as_of is not None and not record.on_record(as_of):
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"the case did not exist yet at {as_of.isoformat()}"
        )
    try:
        return reviews_of(request).record_read(
            case_id, user=principal.user, role=principal.role, what=what, as_of=as_of
        )
    except CaseNotFoundError:
        raise case_not_found() from None
    except CaseChangedError:
        # Only after many attempts (record_read retries): not a conflict of the reader's.
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"the case is being written to; nothing was {nothing_was}, retry shortly",
            headers={"Retry-After": "1"},
        ) from None


# Review's own entries, sent over HTTP: steps 7 and 8, and the child-protection file's transfers.


@dataclass(frozen=True)
class StepEntryOut(EntrySaid):
    """An entry of steps 7 or 8 as recorded; the case's new version is the ``ETag``."""

    facts: dict[str, Any]

    @classmethod
    def of(cls, entry: CaseRecord.EntryRecorded, record: CaseRecord, now: datetime) -> Self:
        """The entry as recorded (its facts without the retry's key), and what
        :meth:`besides` adds from ``record``, the case after it, at ``now``."""
        return cls.said(entry, facts=own_facts(entry.payload)[0], **cls.besides(entry, record, now))

    @classmethod
    def besides(
        cls, entry: CaseRecord.EntryRecorded, record: CaseRecord, now: datetime
    ) -> dict[str, Any]:
        """What an answer shows besides the entry: nothing, unless a subclass says."""
        return {}


def own_entry_route(
    kind: type[OwnKind],
    *,
    out: type[StepEntryOut] = StepEntryOut,
    tags: list[str | Enum] | None = None,
) -> None:
    """Add ``POST /cases/{case_id}/<ROUTE>``, recording one of review's own entries of
    ``kind`` from the facts sent: its body made from the declaration
    (:func:`~shared.entry_routes.entry_in`), its name the kind's, its description the kind's
    docstring and its rules'.

    For the roles ``RECORDED_BY`` names, of a case they may see: 201 with the entry as
    ``out``, or 200 with the one a retry's first attempt recorded, the case's new version as
    the ``ETag``; refused as the shared answers say (:func:`~shared.http.entry_errors`),
    closing and reopening with every reason."""

    def route(**kwargs: Any) -> StepEntryOut:
        sent: EntryIn = kwargs["body"]
        request: Request = kwargs["request"]
        principal: Principal = kwargs["principal"]
        case_id: UUID = kwargs["case_id"]
        refuse_future(sent.occurred_at)
        visible_case(request, principal, case_id)
        reviews = reviews_of(request)
        with _refusals(case_id):
            entry, record, created = reviews.record_own_entry(
                case_id,
                kind.KIND,
                sent.model_dump(mode="json", exclude={"occurred_at"}),
                recorded_by=principal.user,
                recorded_by_role=principal.role,
                occurred_at=sent.occurred_at,
                idempotency_key=kwargs["idempotency_key"],
                expected_version=expected_version(kwargs["if_match"]),
            )
        response: Response = kwargs["response"]
        if not created:
            response.status_code = status.HTTP_200_OK
        response.headers["ETag"] = f'"{version_of(record.entries)}"'
        return out.of(entry, record, reviews.clock())

    rules = inspect.getdoc(kind.check) if kind.has_rules() else None
    # As a plain class: mypy takes a frozen dataclass's own __hash__ (its instances') for its
    # class's, and entry_in's cache needs the class hashable.
    declared: type = kind
    post_entry_route(
        router,
        f"/cases/{{case_id}}/{kind.ROUTE}",
        route,
        body=entry_in(declared),
        out=out,
        who=Authorize(*(Role(role) for role in kind.RECORDED_BY)),
        name=kind.__name__,
        description="\n\n".join(filter(None, (inspect.getdoc(kind), rules))),
        tags=tags,
    )


@contextmanager
def _refusals(case_id: UUID) -> Iterator[None]:
    """422 naming each rule a closing or reopening breaks; otherwise the shared answers (422
    naming the rule or the field that needs a reason, 409 with what to do)."""
    with entry_errors(f"/cases/{case_id}"):
        try:
            yield
        except ClosureRefusedError as e:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                {
                    "msg": f"refused: {len(e.refusals)} reason(s)",
                    "reasons": [
                        {"rule": r.rule, "msg": r.message, "action": r.action} for r in e.refusals
                    ],
                },
            ) from None
