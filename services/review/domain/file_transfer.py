"""Records (Keeping Children Safe in Education): a young person's child-protection file moves
with them to their new school within five school days, securely, with confirmation of receipt.

The DSL records sending the file (for which young person, to which school, for whom, and how it
was sent securely); the receiving school's confirmation of receipt is recorded when it comes
(who confirmed, and when). Both are review's own entries of the case
(:mod:`services.review.domain.own_entries`), so they are in its chronology, its hash chain and its
exports. The deadline is a pure function of the day the file was sent
(:func:`receipt_due_on`), so that a replay years later gives the same answer; a transfer not
confirmed by then is overdue (:meth:`TransferView.overdue`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal, Protocol

from annotated_types import Ge, MaxLen

from services.review.domain.own_entries import OwnKind, with_note
from shared.entries import EntryError
from shared.vocabulary import Doc, LongNote, Pseudonym, Words

SCHOOL_DAYS_TO_TRANSFER = 5
"""Keeping Children Safe in Education: the file is with the new school within five school days."""


def add_school_days(start: date, days: int) -> date:
    """The date ``days`` school days after ``start``, counting Monday to Friday only (a file
    sent on a Saturday or Sunday starts counting on the Monday).

    Bank holidays and INSET days are not known to the system (no school's calendar is recorded),
    so they are counted as school days: a deadline is then early, never late."""
    if days < 0:
        msg = "a number of school days is never negative"
        raise ValueError(msg)
    day = start
    while days:
        day += timedelta(days=1)
        if day.weekday() < 5:  # Monday is 0, Friday 4.
            days -= 1
    return day


def receipt_due_on(sent_at: datetime) -> date:
    """The last day by which the new school should have the file: five school days after the
    day it was sent. The day is the UTC date, as every date the record keeps (the review date
    too); in British Summer Time a file sent just after midnight counts from the day before,
    which again makes the deadline early, never late."""
    return add_school_days(sent_at.astimezone(UTC).date(), SCHOOL_DAYS_TO_TRANSFER)


@dataclass
class Sending:
    """One sending of the child-protection file: what, to whom, how, by whom, when, and the
    day its receipt is due by. ``number`` is the entry that recorded the sending: a
    confirmation names the transfer by it."""

    number: int
    pseudonym: str
    to_school: str
    to_whom: str
    method: str
    note: str
    sent_by: str
    sent_by_role: str
    sent_at: datetime
    due_on: date


@dataclass
class TransferView(Sending):
    """One sending of the child-protection file, and its receipt once confirmed."""

    confirmed_by: str = ""
    """Who at the receiving school confirmed receipt."""
    confirmed_at: datetime | None = None
    confirmation_recorded_by: str = ""
    confirmation_number: int = 0

    @property
    def confirmed(self) -> bool:
        return self.confirmed_at is not None

    @property
    def confirmed_late(self) -> bool:
        """Receipt confirmed, after the deadline: kept visible for an inspection."""
        return self.confirmed_at is not None and _day(self.confirmed_at) > self.due_on

    def overdue(self, now: datetime) -> bool:
        """Not confirmed, and the deadline's day is over."""
        return not self.confirmed and _day(now) > self.due_on


def transfer_sent(
    number: int, facts: Mapping[str, Any], *, by: str, role: str, at: datetime
) -> TransferView:
    """The transfer a :class:`FileSent` entry records (its ``facts`` as stored)."""
    return TransferView(
        number=number,
        pseudonym=str(facts["pseudonym"]),
        to_school=str(facts["to_school"]),
        to_whom=str(facts["to_whom"]),
        method=str(facts["method"]),
        note=str(facts.get("note", "")),
        sent_by=by,
        sent_by_role=role,
        sent_at=at,
        due_on=receipt_due_on(at),
    )


def apply_receipt(
    transfers: Sequence[TransferView],
    number: int,
    facts: Mapping[str, Any],
    *,
    by: str,
    at: datetime,
) -> None:
    """Apply a :class:`FileReceived` entry (its ``facts`` as stored) to the transfer it
    confirms. One that confirms none (refused when sent, so only from a changed rule) stays in
    the chronology, in words, and changes no transfer."""
    transfer = confirmed_transfer(transfers, facts.get("transfer"))
    if transfer is None or transfer.confirmed:
        return
    transfer.confirmed_by = str(facts["confirmed_by"])
    transfer.confirmed_at = at
    transfer.confirmation_recorded_by = by
    transfer.confirmation_number = number


def confirmed_transfer(
    transfers: Sequence[TransferView], number: int | None
) -> TransferView | None:
    """The transfer a confirmation is of: the one it names, else the latest not yet confirmed."""
    if number is not None:
        return next((t for t in transfers if t.number == number), None)
    return next((t for t in reversed(transfers) if not t.confirmed), None)


class TransferRefusedError(EntryError):
    """A transfer or a confirmation of receipt that the record cannot take; the message says
    why and what to do."""


def sending_refusal(school: str, to_school: str) -> str | None:
    """Why the file of a case of ``school`` cannot be recorded as sent to ``to_school``, if
    it cannot: it goes to another school."""
    if to_school.strip().upper() == school.upper():
        return f"the file is sent to the young person's new school, not to {school} itself"
    return None


def receipt_refusal(
    transfers: Sequence[TransferView], number: int | None, occurred_at: datetime | None
) -> str | None:
    """Why a confirmation of receipt cannot be recorded, if it cannot: there must be a transfer
    for it to confirm, not confirmed already, and sent before its receipt."""
    if not transfers:
        return (
            "no transfer of the child-protection file is recorded for this case: "
            "record the sending first (POST /cases/{id}/transfers)"
        )
    transfer = confirmed_transfer(transfers, number)
    if transfer is None and number is not None:
        known = ", ".join(str(t.number) for t in transfers)
        return f"entry {number} is not a transfer of this case's file (transfers: {known})"
    if transfer is None:
        return "every transfer of this case's file is confirmed already"
    if transfer.confirmed:
        return (
            f"the transfer of entry {transfer.number} was confirmed already, "
            f"in entry {transfer.confirmation_number}"
        )
    if occurred_at is not None and occurred_at < transfer.sent_at:
        return "receipt is confirmed before the file was sent: check occurred_at"
    return None


# The entries.

SecureMethod = Literal[
    "secure_records_system", "secure_email", "hand_delivered", "recorded_delivery"
]
SECURE_METHODS: dict[str, str] = {
    "secure_records_system": "the schools' secure records system",
    "secure_email": "secure (encrypted) email",
    "hand_delivered": "hand delivery, signed for",
    "recorded_delivery": "recorded delivery, signed for",
}
"""How a child-protection file may be sent (the keys are :data:`SecureMethod`): securely, and so
that its delivery can be shown."""

Short = Annotated[Words, MaxLen(200)]
"""Words that name someone or somewhere, never blank."""


class CaseFiles(Protocol):
    """What the transfer rules read of a case (its view as it stands)."""

    school: str
    transfers: list[TransferView]


@dataclass(frozen=True)
class FileSent(OwnKind):
    """Records: the DSL sent the young person's child-protection file to their new school,
    securely (which school, to whom, how). Its receipt is due within five school days."""

    KIND = "child_protection_file_sent"
    ROUTE = "transfers"

    pseudonym: Pseudonym
    to_school: Annotated[
        Short, Doc("The new school: its code if in the trust, else its name and town.")
    ]
    to_whom: Annotated[Short, Doc("Who there it was sent to, e.g. 'their DSL, Ms A. Invented'.")]
    method: SecureMethod
    note: LongNote = ""

    def check(self, case: CaseFiles, occurred_at: datetime | None) -> None:
        """Refused when the file is sent to the case's own school."""
        if refusal := sending_refusal(case.school, self.to_school):
            raise TransferRefusedError(refusal)

    def words(self) -> str:
        text = (
            f"Child-protection file of {self.pseudonym} sent to {self.to_school}, "
            f"for {self.to_whom}, by {SECURE_METHODS[self.method]}"
        )
        return with_note(text, self.note)


@dataclass(frozen=True)
class FileReceived(OwnKind):
    """Records: the receiving school confirmed it has the child-protection file (who there
    confirmed); ``occurred_at`` is when they confirmed."""

    KIND = "child_protection_file_received"
    ROUTE = "transfers/confirmations"

    confirmed_by: Annotated[Short, Doc("Who at the receiving school confirmed, and their role.")]
    transfer: Annotated[
        Annotated[int, Ge(1)] | None,
        Doc(
            "The transfer confirmed: the number of the entry that recorded it; "
            "default: the latest not yet confirmed."
        ),
    ] = None
    note: LongNote = ""

    def check(self, case: CaseFiles, occurred_at: datetime | None) -> None:
        """Refused (saying why) when no transfer is recorded, when the one named is confirmed
        already, or when receipt would precede sending."""
        if refusal := receipt_refusal(case.transfers, self.transfer, occurred_at):
            raise TransferRefusedError(refusal)

    def words(self) -> str:
        which = f" (the file sent in entry {self.transfer})" if self.transfer else ""
        text = f"Receipt of the child-protection file{which} confirmed by {self.confirmed_by}"
        return with_note(text, self.note)


FILE_TRANSFER: tuple[type[OwnKind], ...] = (FileSent, FileReceived)


def _day(at: datetime) -> date:
    return at.astimezone(UTC).date()
