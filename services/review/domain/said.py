"""What an entry of a case's chronology says: what, in words, who (in which role), when it
happened and when it was recorded. Declared once, here: the stored entry
(:class:`~services.review.domain.CaseRecord.EntryRecorded`), its view
(:class:`~services.review.domain.case_view.EntryView`), and every answer that shows an entry
(over HTTP, in an export) are this and what each adds."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self


@dataclass(frozen=True)
class EntrySaid:
    """What an entry says (see the module's docstring)."""

    number: int
    kind: str
    summary: str
    actor: str
    actor_role: str
    occurred_at: datetime
    recorded_at: datetime

    @classmethod
    def said(cls, entry: object, **besides: Any) -> Self:
        """``entry`` (an entry recorded, or a view of one) as this class shows it: each field
        ``entry`` has, read from it, and ``besides`` (a field it lacks, or one shown
        otherwise); a field with a default that neither gives keeps its default."""
        read = {
            f.name: getattr(entry, f.name)
            for f in dataclasses.fields(cls)
            if f.name not in besides and hasattr(entry, f.name)
        }
        return cls(**read, **besides)
