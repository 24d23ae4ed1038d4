"""How a service's stored events are published: as the contract each declares it is, its
fields copied by name (:class:`Publishes`, :func:`contract_mapper`), or, for an entry of a kind
with no contract of its own, as its producer's :class:`~shared.contracts.EntryRecordedContract`
(:func:`as_declared`)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from shared.contracts import Contract
from shared.entries import COMMON_FIELDS, CaseEntry

ToContract = Callable[[object], Contract | None]
"""The contract a stored event is published as; None for an event private to its service."""


def snake_case(name: str) -> str:
    """``ParentsSpokenTo`` as ``parents_spoken_to``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def as_declared(entry: CaseEntry, contract: type[Contract]) -> Contract:
    """An entry published by its declaration (an :class:`EntryRecordedContract`): its kind,
    step and words, and every fact it keeps (never its idempotency key) as canonical JSON."""
    kept = {
        name: value
        for name, value in vars(entry).items()
        if name not in COMMON_FIELDS
        and name not in ("originator_id", "originator_version")
        and name != "timestamp"
    }
    return contract.model_validate(
        {
            **{name: getattr(entry, name) for name in COMMON_FIELDS if name != "idempotency_key"},
            "case_id": entry.originator_id,
            "kind": snake_case(type(entry).__name__),
            "step": entry.STEP,
            "summary": entry.words(),
            "facts": json.dumps(kept, sort_keys=True, separators=(",", ":"), default=str),
        }
    )


@dataclass(frozen=True)
class Publishes:
    """How one stored event class is published: as ``contract``, its fields copied by name
    except those ``renamed`` (stored name -> contract name). The case id is the aggregate's id;
    fields the contract does not have stay private."""

    contract: type[Contract]
    renamed: dict[str, str] = field(default_factory=dict)
    spread: str = ""
    """A stored field, a dict or a JSON object as text, whose items are the contract's own
    fields (triage answers; an assessment's outcome)."""


def contract_mapper(
    table: dict[type, Publishes], declared: type[Contract] | None = None
) -> ToContract:
    """A :data:`ToContract` from a table of published event classes; an entry of a declared
    kind not in the table is published as ``declared`` (see :func:`as_declared`)."""

    def to_contract(domain_event: object) -> Contract | None:
        publishes = table.get(type(domain_event))
        if publishes is None:
            if declared is not None and isinstance(domain_event, CaseEntry):
                return as_declared(domain_event, declared)
            return None
        fields = {publishes.renamed.get(k, k): v for k, v in vars(domain_event).items()}
        if publishes.spread:
            spread = fields.pop(publishes.spread)
            fields.update(json.loads(spread) if isinstance(spread, str) else spread)
        fields["case_id"] = fields.pop("originator_id")
        return publishes.contract.model_validate(fields)

    return to_contract
