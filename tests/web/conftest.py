"""Fixtures of the web pages' tests."""

from __future__ import annotations

from tests.web.stack import stack

__all__ = ["stack"]
