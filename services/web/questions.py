"""A form's questions read from a declaration's fields (a TypedDict of factors, a dataclass of
review's own entries), so that a field, its choices and its hint are written once, in the
declaration: a ``Literal`` becomes radios, an ``int`` a number, text a text area; a field with
no default must be answered."""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import Any, Literal

from shared.entries import CaseEntry

NOT_KNOWN = "unknown"


def words(code: str) -> str:
    """A code of the vocabulary in words: ``parents_or_carers`` → ``Parents or carers``."""
    text = code.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


@dataclass(frozen=True)
class Question:
    """One field of a declaration, as a form asks it."""

    name: str
    hint: str
    choices: tuple[str, ...]
    number: bool
    required: bool
    long: bool

    @property
    def id(self) -> str:
        return self.name.replace("_", "-")

    @property
    def legend(self) -> str:
        return words(self.name) + ("" if self.required else " (optional)")

    def items(self, chosen: str) -> list[dict[str, Any]]:
        return [
            {
                "value": c,
                "text": "Not known" if c == NOT_KNOWN else words(c),
                "checked": chosen == c,
            }
            for c in self.choices
        ]


def _bare(annotation: Any) -> tuple[Any, str, int]:
    """The type under ``Annotated``/``NotRequired``, its description, and its longest length."""
    description, longest = "", 0
    while typing.get_origin(annotation) in (typing.Annotated, typing.NotRequired):
        if typing.get_origin(annotation) is typing.Annotated:
            for meta in annotation.__metadata__:
                description = (
                    getattr(meta, "documentation", None)
                    or getattr(meta, "description", None)
                    or description
                )
                longest = getattr(meta, "max_length", None) or longest
        annotation = typing.get_args(annotation)[0]
    return annotation, description, longest


def _wrapped_in(annotation: Any, wrapper: Any) -> bool:
    while typing.get_origin(annotation) in (typing.Annotated, typing.NotRequired):
        if typing.get_origin(annotation) is wrapper:
            return True
        annotation = typing.get_args(annotation)[0]
    return False


def questions_of(kind: Any, *, leave_out: tuple[str, ...] = ()) -> list[Question]:
    """The questions of a TypedDict or a dataclass, in the declaration's order."""
    if dataclasses.is_dataclass(kind):
        required = {
            f.name
            for f in dataclasses.fields(kind)
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        }
        names = [f.name for f in dataclasses.fields(kind)]
    else:
        required = set(getattr(kind, "__required_keys__", ()))
        names = list(typing.get_type_hints(kind))
    hints = typing.get_type_hints(kind, include_extras=True)
    common = set(typing.get_type_hints(CaseEntry))
    asked = []
    for name in names:
        if name in leave_out or name in common:
            continue
        bare, description, longest = _bare(hints[name])
        if _wrapped_in(hints[name], typing.NotRequired):
            required.discard(name)
        choices = typing.get_args(bare) if typing.get_origin(bare) is Literal else ()
        number = not choices and int in (bare, *typing.get_args(bare))
        asked.append(Question(name, description, choices, number, name in required, longest > 200))
    return asked


def answers_of(
    questions: list[Question], sent: dict[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The answers as the route takes them, and an error per question answered wrongly or
    left empty where it must be answered."""
    answers: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for q in questions:
        value = sent.get(q.name, "").strip()
        if not value:
            if q.required:
                what = "Select" if q.choices else "Enter"
                errors[q.name] = f"{what} {words(q.name).lower()}"
            continue
        if q.number:
            if value.isdigit():
                answers[q.name] = int(value)
            else:
                errors[q.name] = f"{words(q.name)}: a whole number, or leave it empty"
        elif q.choices and value not in q.choices:
            errors[q.name] = f"Select {words(q.name).lower()}"
        else:
            answers[q.name] = value
    return answers, errors
