"""Review's stats routes (filled in by the stats work)."""

from __future__ import annotations

from services.review.entrypoint.common import router

__all__ = ["router"]
