"""Review's exports routes (filled in by the exports work)."""

from __future__ import annotations

from services.review.entrypoint.common import router

__all__ = ["router"]
