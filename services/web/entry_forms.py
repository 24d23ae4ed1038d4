"""A GOV.UK form read from a kind of entry's declaration, and the form as sent turned back into
the JSON body the kind's route takes.

The form is read from :func:`shared.entry_routes.entry_in`, the very model the route validates
(its fields less those the rules work out, plus those sent only, plus ``occurred_at``), so a
field, its choices, its words and whether it must be answered are written once, in the
declaration. A ``Literal`` is asked as radios, a list of a ``Literal`` as checkboxes, a ``bool``
as Yes/No, an ``int`` as a number, a ``datetime`` as GOV.UK's date input and a time, a
``date`` as the date input, words as a text input or, past 200 characters, a text area.

A page uses it in three lines::

    form = entry_form(SearchAuthorised).choosing("pseudonym", young_people)
    reading = form.read(await request.form())  # .body for the route, .errors per field
    render(request, "page.html", form=form, values=reading.values, errors=reading.errors)

and ``templates/_entry_form.html``'s ``entry_fields(form, values, errors)`` draws the fields.
Times are sent as the trust's wall-clock time without a zone, which the services read in the
trust's zone (:mod:`shared.local_time`).
"""

from __future__ import annotations

import dataclasses
import functools
import operator
import re
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, create_model
from pydantic.fields import FieldInfo

from services.web.wording import words
from shared.entry_routes import entry_in

Kind = Literal["text", "textarea", "radios", "checkboxes", "date-time", "date", "number", "boolean"]

LONG_TEXT = 200
"""Words allowed past this many characters are asked in a text area."""

YES_NO = (("yes", "Yes"), ("no", "No"))

COMMON_WORDS = {
    "occurred_at": (
        "When it happened",
        "Leave empty if it is now. In the school's time, on the 24-hour clock: for example "
        "27 3 2026, 14:30.",
        "Now, when it is recorded",
    ),
}
"""Label, hint and the words for an empty answer of the fields every entry has: their API
descriptions speak of time zones, which a person filling in a form need not read."""

DATE_PARTS = ("day", "month", "year")
_TIME = re.compile(r"^(\d{1,2})[:.](\d{2})$")


class UnsupportedFieldError(TypeError):
    """A declaration's field no form here can ask (a nested structure): the page asks it
    itself, or leaves it out."""


class MultiValued(Protocol):
    """A form as sent: each name's values (Starlette's ``FormData``)."""

    def getlist(self, key: Any) -> list[Any]: ...


@dataclass(frozen=True)
class Choice:
    """One answer of radios or checkboxes: what is sent, and what a person reads."""

    value: str
    text: str
    hint: str = ""


@dataclass(frozen=True)
class FormField:
    """One field of a declaration, as a form asks it."""

    name: str
    label: str
    hint: str
    kind: Kind
    required: bool
    choices: tuple[Choice, ...] = ()
    max_length: int | None = None
    when_empty: str = "Not given"

    @property
    def id(self) -> str:
        """The HTML id, as ``services.web.pages.common.field_id`` makes it for the error
        summary's links."""
        return self.name.replace(".", "-").replace("_", "-")

    @property
    def legend(self) -> str:
        return self.label if self.required else f"{self.label} (optional)"

    @property
    def first_id(self) -> str:
        """The id of the field's first input, where the error summary's link goes."""
        return f"{self.id}-day" if self.kind in ("date-time", "date") else self.id

    def inputs(self) -> tuple[str, ...]:
        """The names of the HTML inputs this field sends."""
        if self.kind == "date-time":
            return (*(f"{self.name}-{p}" for p in DATE_PARTS), f"{self.name}-time")
        if self.kind == "date":
            return tuple(f"{self.name}-{p}" for p in DATE_PARTS)
        return (self.name,)

    def answer_text(self, value: Any) -> str:
        """A value of the body in words, for "check your answers"."""
        if value is None or value == "" or value == []:
            return self.when_empty
        texts = {c.value: c.text for c in self.choices}
        if self.kind == "checkboxes":
            return ", ".join(texts.get(v, v) for v in value)
        if self.kind == "boolean":
            return "Yes" if value else "No"
        if self.kind == "date-time":
            return datetime.fromisoformat(value).strftime("%-d %B %Y, %H:%M")
        if self.kind == "date":
            return date.fromisoformat(value).strftime("%-d %B %Y")
        return texts.get(str(value), str(value))


@dataclass(frozen=True)
class Reading:
    """A form as sent, read: the JSON ``body`` the route takes, an error per field answered
    wrongly (or left empty where it must be answered), and the ``values`` as sent, by input
    name, to show again or to carry to "check your answers"."""

    body: dict[str, Any]
    errors: dict[str, str]
    values: dict[str, str | list[str]]


@dataclass(frozen=True)
class EntryForm:
    """The fields of one kind of entry, in the declaration's order (``occurred_at`` last)."""

    kind: type[Any]
    fields: tuple[FormField, ...]

    def field(self, name: str) -> FormField:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    def choosing(
        self, name: str, choices: Sequence[Choice], *, label: str = "", hint: str = ""
    ) -> EntryForm:
        """The form with ``name`` asked as radios over ``choices``: the case's own values (its
        young people), where the declaration can say only their shape. No choices: as it
        was."""
        if not choices:
            return self
        return self._replace(
            name,
            kind="radios",
            choices=tuple(choices),
            **({"label": label} if label else {}),
            **({"hint": hint} if hint else {}),
        )

    def _replace(self, name: str, **changes: Any) -> EntryForm:
        fields = tuple(dataclasses.replace(f, **changes) if f.name == name else f for f in self)
        return dataclasses.replace(self, fields=fields)

    def __iter__(self) -> typing.Iterator[FormField]:
        return iter(self.fields)

    def read(self, sent: MultiValued) -> Reading:
        """The body, errors and values of a form as sent (see :class:`Reading`)."""
        body: dict[str, Any] = {}
        errors: dict[str, str] = {}
        values: dict[str, str | list[str]] = {}
        for f in self:
            given = {name: [str(v).strip() for v in sent.getlist(name)] for name in f.inputs()}
            for name, got in given.items():
                values[name] = got if f.kind == "checkboxes" else (got[0] if got else "")
            value, error = _read(f, given)
            if error:
                errors[f.name] = error
            elif value is not None:
                body[f.name] = value
        return Reading(body, errors, values)

    def error_links(self, errors: dict[str, str]) -> list[dict[str, str]]:
        """GOV.UK's error summary items for this form's fields, each linking to its field."""
        return [
            {"text": errors[f.name], "href": f"#{f.first_id}"} for f in self if f.name in errors
        ]

    def answers(self, body: dict[str, Any]) -> list[tuple[str, str]]:
        """Each field's label and its answer in words, for "check your answers"."""
        return [(f.label, f.answer_text(body.get(f.name))) for f in self]


def entry_form(kind: type, *, leave_out: Sequence[str] = ()) -> EntryForm:
    """The form of a kind of entry (a :class:`shared.entries.CaseEntry`, or a dataclass
    declared the same way), read from what its route takes."""
    return _form_of(kind, entry_in(kind), leave_out)


def parts_form(parts: type) -> EntryForm:
    """The form of a part of an entry declared as a TypedDict (step 5's risk factors): its
    fields as a model says them (a field ``NotRequired`` is optional), so that they are asked
    as an entry's own fields are."""
    fields: dict[str, Any] = {}
    for name, annotation in typing.get_type_hints(parts, include_extras=True).items():
        if typing.get_origin(annotation) is typing.NotRequired:
            fields[name] = (typing.get_args(annotation)[0], None)
        else:
            fields[name] = (annotation, ...)
    return _form_of(parts, create_model(parts.__name__, **fields), ())


def _form_of(kind: type, model: type[BaseModel], leave_out: Sequence[str]) -> EntryForm:
    named = [n for n in model.model_fields if n not in leave_out and n not in COMMON_WORDS]
    named += [n for n in COMMON_WORDS if n in model.model_fields and n not in leave_out]
    return EntryForm(kind, tuple(_field(name, model.model_fields[name]) for name in named))


def _field(name: str, info: FieldInfo) -> FormField:
    annotation, optional = _without_none(info.annotation)
    required = info.is_required() and not optional
    longest = next((m.max_length for m in info.metadata if hasattr(m, "max_length")), None)
    label, hint = _words_of(name, info.description)
    choices: tuple[Choice, ...] = ()
    kind: Kind
    if typing.get_origin(annotation) is Literal:
        kind, choices = "radios", _choices(typing.get_args(annotation))
    elif typing.get_origin(annotation) is list:
        (inner,) = typing.get_args(annotation)
        if typing.get_origin(inner) is not Literal:
            raise UnsupportedFieldError(f"{name}: a list of {inner} is not asked by a form")
        kind, choices = "checkboxes", _choices(typing.get_args(inner))
    elif annotation is bool:
        kind, choices = "boolean", tuple(Choice(v, t) for v, t in YES_NO)
    elif annotation is int:
        kind = "number"
    elif annotation is datetime:
        kind = "date-time"
    elif annotation is date:
        kind = "date"
    elif annotation is str or _is_text_union(annotation):
        kind = "textarea" if longest is not None and longest > LONG_TEXT else "text"
    else:
        raise UnsupportedFieldError(f"{name}: {annotation} is not asked by a form")
    label, hint, when_empty = COMMON_WORDS.get(name, (label, hint, "Not given"))
    return FormField(name, label, hint, kind, required, choices, longest, when_empty)


def _without_none(annotation: Any) -> tuple[Any, bool]:
    """``X | None`` as ``X``, and whether ``None`` was allowed; ``Annotated`` unwrapped."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(members) < len(typing.get_args(annotation)):
            inner, _ = _without_none(functools.reduce(operator.or_, members))
            return inner, True
    return annotation, False


def _is_text_union(annotation: Any) -> bool:
    """Words or nothing (``Literal[""] | Pseudonym``): asked as words."""
    if typing.get_origin(annotation) not in (typing.Union, types.UnionType):
        return False
    for member in typing.get_args(annotation):
        member, _ = _without_none(member)
        if member is not str and typing.get_args(member) != ("",):
            return False
    return True


def _choices(values: tuple[Any, ...]) -> tuple[Choice, ...]:
    return tuple(Choice(str(v), words(str(v))) for v in values)


def _words_of(name: str, description: str | None) -> tuple[str, str]:
    """A label and a hint from a field's description: "Who may search, e.g. staff.b." is
    labelled "Who may search", hinted "For example, staff.b."; "The DSL who may view it: the
    DSL who has the case." is split at its colon (or semicolon); a description that is only an
    example is the hint, under the name in words."""
    text = (description or "").strip()
    if not text:
        return words(name), ""
    if text.startswith("e.g. "):
        return words(name), "For example, " + text.removeprefix("e.g. ")
    for mark, lead in ((", e.g. ", "For example, "), (": ", ""), ("; ", "")):
        if mark in text:
            label, rest = text.split(mark, 1)
            return label.strip(), lead + (rest if lead else rest[:1].upper() + rest[1:])
    return text.rstrip("."), ""


def _lower(label: str) -> str:
    """A label inside a sentence: "Who may search" → "who may search", "DSL" kept."""
    if len(label) > 1 and label[1].isupper():
        return label.rstrip("?")
    return (label[:1].lower() + label[1:]).rstrip("?")


def _read(f: FormField, given: dict[str, list[str]]) -> tuple[Any, str]:
    """One field's value for the body (``None``: left out), or the error to show."""
    first = {name: (got[0] if got else "") for name, got in given.items()}
    if f.kind in ("date-time", "date"):
        return _read_time(f, first)
    if f.kind == "checkboxes":
        chosen = given[f.name]
        allowed = {c.value for c in f.choices}
        if any(v not in allowed for v in chosen) or (f.required and not chosen):
            return None, f"Select {_lower(f.label)}"
        return (chosen or None), ""
    value = first[f.name]
    if not value:
        if not f.required:
            return None, ""
        what = "Select" if f.kind in ("radios", "boolean") else "Enter"
        return None, f"{what} {_lower(f.label)}"
    if f.kind in ("radios", "boolean"):
        if value not in {c.value for c in f.choices}:
            return None, f"Select {_lower(f.label)}"
        return (value == "yes" if f.kind == "boolean" else value), ""
    if f.kind == "number":
        if not re.fullmatch(r"\d{1,9}", value):
            return None, f"{f.label} must be a whole number, like 3"
        return int(value), ""
    if f.max_length is not None and len(value) > f.max_length:
        return None, f"{f.label} must be {f.max_length} characters or fewer"
    return value, ""


def _read_time(f: FormField, first: dict[str, str]) -> tuple[str | None, str]:
    """GOV.UK's date input (and, for a date-time, the time) as ISO text without a zone."""
    parts = [first[f"{f.name}-{p}"] for p in DATE_PARTS]
    clock = first.get(f"{f.name}-time", "")
    if not any(parts) and not clock:
        return None, ("" if not f.required else f"Enter {_lower(f.label)}")
    try:
        day, month, year = (int(p) for p in parts)
        when = date(year, month, day)
    except ValueError:
        return None, f"{f.label} must be a real date, for example 27 3 2026"
    if year < 1900:
        return None, f"{f.label} must be a real date, for example 27 3 2026"
    if f.kind == "date":
        return when.isoformat(), ""
    time = _TIME.match(clock)
    if time is None or int(time.group(1)) > 23 or int(time.group(2)) > 59:
        return None, f"{f.label}: enter the time on the 24-hour clock, for example 14:30"
    at = datetime(year, month, day, int(time.group(1)), int(time.group(2)))
    return at.isoformat(timespec="minutes"), ""


__all__ = [
    "Choice",
    "EntryForm",
    "FormField",
    "Kind",
    "MultiValued",
    "Reading",
    "UnsupportedFieldError",
    "entry_form",
]
