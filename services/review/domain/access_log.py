"""The access log: who read a case, in which role, when, and what of it (its view, its
chronology, an export), as it stood at which moment. Every read is one of review's own entries
(:mod:`services.review.domain.own_entries`), so it is in the case's chronology and hash chain;
reads do not count towards the case's version, so that reading a case never makes a write
look stale.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from services.review.domain import CaseRecord
from services.review.domain.own_entries import OwnKind, spoken


@dataclass(frozen=True)
class CaseRead(OwnKind):
    """A read of the case: ``what`` of it (``case_view``, ``chronology``, an export), as it
    stood at ``as_of`` (an ISO time) if not as it stands."""

    KIND = "case_read"
    RECORDED_BY = ("dsl", "head", "auditor")

    what: str
    as_of: str | None = None

    def words(self) -> str:
        text = f"{spoken(self.what)} read"
        return f"{text}, as it stood at {self.as_of}" if self.as_of else text


def version_of(entries: Iterable[CaseRecord.EntryRecorded]) -> int:
    """A case's version for ``If-Match``: its entries other than reads."""
    return sum(1 for e in entries if e.kind != CaseRead.KIND)
