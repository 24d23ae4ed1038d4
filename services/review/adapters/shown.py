"""Answers made of what the domain already holds: a model's fields read from the objects that
have them under the same names (a case's view, an action, a transfer, an entry), so that no
answer copies a field list it could read. A model is a pydantic model, or a dataclass that
pydantic shows."""

from __future__ import annotations

import dataclasses
from typing import Any, Self, TypeVar

from pydantic import BaseModel

M = TypeVar("M")


def shown(model: type[M], *sources: object, **given: Any) -> M:
    """``model`` with each field ``given``, or else read from the first of ``sources`` that has
    an attribute of its name; a field none has keeps its default (or is refused, if it has
    none)."""
    if issubclass(model, BaseModel):
        names = list(model.model_fields)
    elif dataclasses.is_dataclass(model):
        names = [f.name for f in dataclasses.fields(model)]
    else:
        msg = f"{model} is neither a pydantic model nor a dataclass"
        raise TypeError(msg)
    read: dict[str, Any] = {}
    for name in names:
        if name in given:
            continue
        source = next((s for s in sources if hasattr(s, name)), None)
        if source is not None:
            read[name] = getattr(source, name)
    return model(**read, **given)


class Shown(BaseModel):
    """An answer made by :func:`shown`."""

    @classmethod
    def shown(cls, *sources: object, **given: Any) -> Self:
        return shown(cls, *sources, **given)
