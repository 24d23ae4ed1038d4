"""The words a person reads for the vocabulary's codes."""

from __future__ import annotations


def words(code: str) -> str:
    """A code of the vocabulary in words: ``parents_or_carers`` → ``Parents or carers``."""
    text = code.replace("_", " ").strip()
    return text[:1].upper() + text[1:]
