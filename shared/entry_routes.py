"""A kind of entry's HTTP models and route, made from its declaration (a
:class:`~shared.entries.CaseEntry` subclass), so that its fields are written once.

What is sent (``…In``): the fields the entry keeps, less those every entry has and those its
rules work out, plus what it declares as sent only; each field's type (a time without a zone is
read in the trust's, as ``occurred_at`` is), with the metadata of :mod:`shared.vocabulary`
(lengths, patterns, the refusal of an image), its default, and its
:class:`~typing_extensions.Doc` as the OpenAPI description. What is answered (``…Out``): who
recorded it and when, and every field it keeps, as kept (an entry recorded under older rules is
shown as it is, never refused on the way out).
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Iterable
from datetime import datetime
from functools import cache
from typing import Annotated, Any, get_args, get_origin, get_type_hints

from fastapi import APIRouter
from pydantic import Field, create_model
from typing_extensions import Doc

from shared.entries import COMMON_FIELDS, CaseEntry, Default
from shared.http import EntryIn, EntryOut, RecordEntry, add_entry_route
from shared.identity import Authorize, Role
from shared.local_time import TrustTime


def _field(annotation: Any, default: Any) -> tuple[Any, Any]:
    """A pydantic field from a declared annotation: its Doc as the description, its Default
    (or the dataclass default) as the default."""
    description = None
    if get_origin(annotation) is Annotated:
        base, *metadata = get_args(annotation)
        for item in metadata:
            if isinstance(item, Doc):
                description = item.documentation
            elif isinstance(item, Default):
                default = item.value
        kept = [m for m in metadata if not isinstance(m, Doc | Default)]
        annotation = Annotated[(base, *kept)] if kept else base
    if default is dataclasses.MISSING:
        return annotation, Field(description=description)
    if isinstance(default, list | dict):
        return annotation, Field(
            default_factory=lambda d=default: type(d)(d), description=description
        )
    return annotation, Field(default=default, description=description)


def _kept(kind: type[Any]) -> dict[str, tuple[Any, Any]]:
    hints = get_type_hints(kind, include_extras=True)
    defaults = {
        f.name: f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        for f in dataclasses.fields(kind)
    }
    return {
        name: _field(hints[name], defaults.get(name, dataclasses.MISSING))
        for name in defaults
        if name in hints and name not in COMMON_FIELDS and name not in _EVENT_FIELDS
    }


_EVENT_FIELDS = ("originator_id", "originator_version", "timestamp")


def _plain(annotation: Any) -> Any:
    """The type without the checks a request gets, for what is answered."""
    if get_origin(annotation) is Annotated:
        return _plain(get_args(annotation)[0])
    return annotation


@cache
def entry_in(kind: type[Any]) -> type[EntryIn]:
    """What is sent to record an entry of ``kind`` (a :class:`CaseEntry`, or any dataclass
    declared the same way: ``WORKED_OUT`` and ``SENT``)."""
    fields = {
        name: (TrustTime if annotation is datetime else annotation, field)
        for name, (annotation, field) in _kept(kind).items()
        if name not in getattr(kind, "WORKED_OUT", ())
    }
    fields |= {
        name: _field(annotation, dataclasses.MISSING)
        for name, annotation in getattr(kind, "SENT", {}).items()
    }
    model: type[EntryIn] = create_model(  # type: ignore[call-overload]
        f"{kind.__name__}In", __base__=EntryIn, __doc__=inspect.getdoc(kind), **fields
    )
    if example := getattr(kind, "EXAMPLE", {}):
        model.model_config["json_schema_extra"] = {"examples": [example]}
        model.model_rebuild(force=True)
    return model


@cache
def entry_out(kind: type[Any]) -> type[EntryOut]:
    """An entry of ``kind`` as it is answered."""
    fields = {
        name: (_plain(annotation), Field(description=field.description))
        for name, (annotation, field) in _kept(kind).items()
    }
    model: type[EntryOut] = create_model(  # type: ignore[call-overload]
        f"{kind.__name__}Out", __base__=EntryOut, __doc__=inspect.getdoc(kind), **fields
    )
    return model


def list_of(model: type[Any]) -> Any:
    """``list[model]`` for a model made at run time (a type checker cannot see it as a type)."""
    return list[model]  # type: ignore[valid-type]


def _rules(kind: type[CaseEntry]) -> str | None:
    """What the kind's own rules refuse, from their docstring."""
    own = kind.check.__func__ is not CaseEntry.check.__func__  # type: ignore[attr-defined]
    return inspect.getdoc(kind.check) if own else None


def add_entry_routes(
    router: APIRouter, kinds: Iterable[type[CaseEntry]], *, record: RecordEntry
) -> None:
    """``POST /cases/{case_id}/<ROUTE>`` for each kind that has a route: its models from its
    declaration, its roles from ``RECORDED_BY``, its description from its docstring and its
    rules', with ``Idempotency-Key`` and ``If-Match``."""
    for kind in kinds:
        if not kind.ROUTE:
            continue
        add_entry_route(
            router,
            f"/cases/{{case_id}}/{kind.ROUTE}",
            kind,
            body=entry_in(kind),
            out=entry_out(kind),
            who=Authorize(*(Role(role) for role in kind.RECORDED_BY)),
            record=record,
            description="\n\n".join(filter(None, (inspect.getdoc(kind), _rules(kind)))),
            name=kind.__name__,
        )
