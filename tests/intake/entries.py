"""Recording one entry of a case through the application, as the routes do."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from services.intake.application import Intake
from shared.entries import CaseEntry


def record(
    app: Intake,
    case_id: UUID,
    kind: type[CaseEntry],
    *,
    recorded_by: str = "staff.a",
    recorded_by_role: str = "staff",
    occurred_at: datetime | None = None,
    idempotency_key: str | None = None,
    expected_version: int | None = None,
    **details: Any,
) -> tuple[Any, bool]:
    """One entry of ``kind`` with ``details``: the entry, and whether this call recorded it."""
    return app.record_entry(
        case_id,
        kind,
        details=details,
        recorded_by=recorded_by,
        recorded_by_role=recorded_by_role,
        occurred_at=occurred_at,
        idempotency_key=idempotency_key,
        expected_version=expected_version,
    )
