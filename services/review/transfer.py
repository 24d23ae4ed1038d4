"""Records (Keeping Children Safe in Education): a young person's child-protection file moves
with them to their new school within five school days, securely, with confirmation of receipt.

The DSL records sending the file (for which young person, to which school, for whom, and how it
was sent securely); the receiving school's confirmation of receipt is recorded when it comes
(who confirmed, and when). Both are review's own entries of the case
(:mod:`services.review.own_entries`), so they are in its chronology, its hash chain and its
exports. The deadline is a pure function of the day the file was sent
(:func:`receipt_due_on`), so that a replay years later gives the same answer; a transfer not
confirmed by then is overdue (:meth:`TransferView.overdue`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Unpack
from uuid import UUID

from services.review.own_entries import FILE_RECEIVED, FILE_SENT
from shared.entries import EntryError

if TYPE_CHECKING:
    # Only for annotations: the application and the views import this module.
    from services.review.application import Recorded, Recording, Reviews
    from services.review.views import CaseView

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
class TransferView:
    """One sending of the child-protection file, and its receipt once confirmed. ``number`` is
    the entry that recorded the sending: a confirmation names the transfer by it."""

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
    """The transfer a :data:`~services.review.own_entries.FILE_SENT` entry records."""
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
    """Apply a :data:`~services.review.own_entries.FILE_RECEIVED` entry to the transfer it
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


def sending_refusal(view: CaseView, facts: Mapping[str, Any]) -> str | None:
    """Why the file cannot be recorded as sent, if it cannot: it goes to another school."""
    if str(facts["to_school"]).strip().upper() == view.school.upper():
        return f"the file is sent to the young person's new school, not to {view.school} itself"
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


# The commands. They take the application's own-entry path with a check made against the case
# as it stands, under the same lock and in the same attempt as the write, so that nothing can be
# recorded between the check and the entry.


def send_file(
    reviews: Reviews, case_id: UUID, facts: Mapping[str, Any], **recording: Unpack[Recording]
) -> Recorded:
    """Record that the DSL sent the young person's child-protection file to their new school:
    ``facts`` are ``pseudonym``, ``to_school``, ``to_whom``, ``method`` (a key of
    :data:`~services.review.own_entries.SECURE_METHODS`) and ``note``. Its receipt is due
    within five school days of ``occurred_at``."""

    def check(view: CaseView) -> None:
        if refusal := sending_refusal(view, facts):
            raise TransferRefusedError(refusal)

    return reviews.record_own_entry(case_id, FILE_SENT, facts, check=check, **recording)


def confirm_receipt(
    reviews: Reviews, case_id: UUID, facts: Mapping[str, Any], **recording: Unpack[Recording]
) -> Recorded:
    """Record the receiving school's confirmation of receipt: ``facts`` are ``confirmed_by``
    (who there confirmed), ``transfer`` (the number of the entry that recorded the sending;
    None: the latest transfer not yet confirmed) and ``note``; ``occurred_at`` is when they
    confirmed. Refused (:class:`TransferRefusedError`) without a transfer to confirm."""
    occurred_at = recording.get("occurred_at")

    def check(view: CaseView) -> None:
        if refusal := receipt_refusal(view.transfers, facts.get("transfer"), occurred_at):
            raise TransferRefusedError(refusal)

    return reviews.record_own_entry(case_id, FILE_RECEIVED, facts, check=check, **recording)


def _day(at: datetime) -> date:
    return at.astimezone(UTC).date()
