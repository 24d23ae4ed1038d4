"""A case's history as one document: for an inspection, a court, or the child-protection file
that moves with a young person to a new school.

:func:`build_export` gathers, from the case record and its view, what an export holds: the
case's header (school, reference, status, classification in force and computed, DSL, review
date), the transfers of its child-protection file, every chronology entry in the order things
happened (with its subject, its payload exactly as stored and hashed, and its place in the hash
chain), and the chain's verification when exported. The JSON export is that model;
:func:`services.review.adapters.pdf.render_pdf` lays the same out for a person to read, with
who exported it, when, and page numbers on every page.

Nothing here reads a store or a clock, and there is never an image to include: the record holds
facts about an image, never the image itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, TypedDict, Unpack
from uuid import UUID

from pydantic import BaseModel, Field, field_serializer
from pydantic.dataclasses import dataclass as pydantic_dataclass

from services.review.adapters.shown import Shown, shown
from services.review.domain import CaseRecord
from services.review.domain.case_view import CaseView
from services.review.domain.chain import ChainBreak
from services.review.domain.file_transfer import Sending, TransferView
from services.review.domain.said import EntrySaid

SHORT_HASH = 12
"""Hex digits of an entry's hash shown beside it in the PDF (the JSON export has them all)."""

NEVER_THE_IMAGE = "This record holds facts about an image, never the image itself."


class CaseHeader(Shown):
    """What the case is, as it stands (or stood at ``as_of``)."""

    status: str = Field(description="open, closed or reopened")
    classification: str = Field(description="In force: the DSL's override if any, else computed.")
    subtype: str
    classification_overridden: bool
    computed_classification: str
    computed_subtype: str
    policy_version: str
    dsl: str
    disclosure_route: str
    opened_at: datetime | None
    review_date: date | None
    review_overdue: bool
    open_actions: list[str]
    overdue_actions: list[str]

    @classmethod
    def of(cls, view: CaseView) -> CaseHeader:
        """The header of ``view``'s case: each field as the view has it, actions by name."""
        return cls.shown(
            view,
            open_actions=[a.action for a in view.open_actions],
            overdue_actions=[a.action for a in view.overdue_actions],
        )


# A dataclass, the sending's fields in the domain's order (two with a description here).
@dataclass
class TransferOut(Sending):
    """The child-protection file sent to a new school, and its receipt."""

    number: Annotated[int, Field(description="The entry that recorded the sending.")]
    due_on: Annotated[
        date, Field(description="Receipt confirmed by this day: five school days on.")
    ]
    confirmed: bool
    confirmed_by: str
    confirmed_at: datetime | None
    confirmation_number: int
    confirmed_late: bool
    overdue: bool

    @classmethod
    def of(cls, transfer: TransferView, now: datetime) -> TransferOut:
        return shown(cls, transfer, overdue=transfer.overdue(now))


class ChainCheck(BaseModel):
    """The hash chain's verification, from the store, when the case was exported (or its chain
    read)."""

    intact: bool
    entries_verified: int = Field(description="Every entry on record at export, reads included.")
    broken_at: int | None = Field(description="The first entry where the chain breaks.")
    problem: str
    head_hash: str = Field(description="The hash of the last entry: the chain's head.")

    @classmethod
    def of(cls, record: CaseRecord, chain_break: ChainBreak | None) -> ChainCheck:
        """The verification ``chain_break`` of the stored chain whose entries ``record`` holds
        (up to the read that asked for it)."""
        return cls(
            intact=chain_break is None,
            entries_verified=len(record.entries),
            broken_at=chain_break.number if chain_break else None,
            problem=chain_break.problem if chain_break else "",
            head_hash=record.entries[-1].hash if record.entries else "",
        )


# A pydantic dataclass, to serialise its times as they were hashed; keyword-only, so that
# ``reason`` keeps its default among the fields after it, in the order the export shows them.
@pydantic_dataclass(frozen=True, kw_only=True)
class ExportedEntry(EntrySaid):
    """One entry of the chronology, with the message it came from and its place in the chain:
    every field as it was hashed, so a reader can recompute ``hash``
    (:func:`services.review.domain.chain.entry_hash`) and check the chain from the export."""

    source: str
    subject: str
    payload: str
    reason: str = ""
    previous_hash: str
    hash: str

    @field_serializer("occurred_at", "recorded_at")
    def _as_hashed(self, at: datetime) -> str:
        """Times exactly as the hash covers them (ISO 8601 as Python writes it, +00:00 rather
        than Z), so that the JSON entries can be verified as they are."""
        return at.isoformat()


class CaseExport(Shown):
    """A case's history as exported: header, transfers, chain check, and every entry in the
    order things happened (with ``as_of``, only those on record then)."""

    case_id: UUID
    school: str
    school_name: str
    reference: str
    as_of: datetime | None
    exported_by: str
    exported_by_role: str
    exported_at: datetime
    timezone: str = Field(
        description="The trust's time zone (IANA name): the PDF shows every time in it. Times "
        "here are ISO 8601 with their offset, as recorded."
    )
    case: CaseHeader
    transfers: list[TransferOut]
    chain: ChainCheck
    entries: list[ExportedEntry]
    note: str = NEVER_THE_IMAGE


class Exporting(TypedDict):
    """Who exports a case, and when; the school's name, and the trust's time zone (for the
    PDF)."""

    school_name: str
    exported_by: str
    exported_by_role: str
    exported_at: datetime
    timezone: str


def build_export(
    record: CaseRecord,
    view: CaseView,
    chain_break: ChainBreak | None,
    **exporting: Unpack[Exporting],
) -> CaseExport:
    """The export of ``record`` as ``view`` shows it (as it stands, or as it stood at
    ``view.as_of``). ``chain_break`` is the verification of the whole stored chain, which
    ``record`` holds up to the export's own read."""
    reasons = {e.number: e.reason for e in view.entries}
    return CaseExport.shown(
        view,
        **exporting,
        case=CaseHeader.of(view),
        transfers=[TransferOut.of(t, view.now) for t in view.transfers],
        chain=ChainCheck.of(record, chain_break),
        entries=[
            ExportedEntry.said(e, reason=reasons.get(e.number, ""))
            for e in record.chronology(view.as_of)
        ],
    )
