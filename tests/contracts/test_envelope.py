"""Each published contract keeps its shape: the fields it carries, the ones it requires and the
ones it marks personal, as ``schema_snapshot.json`` recorded them; and the case envelope
(``CaseContract``, ``CaseEntryContract``) keeps its types and constraints on every contract.

After an intended change (a new contract, an optional field added within a version), write the
snapshot again with ``.venv/bin/python -m tests.contracts.test_envelope`` and review its diff.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shared.contracts import PERSONAL_DATA_KEY, Contract, loaded

SNAPSHOT = Path(__file__).with_name("schema_snapshot.json")
CONTRACTS = loaded()

# The envelope's published schema, written out rather than read from the base classes, so that a
# change to a base class shows here too.
ENVELOPE: dict[str, dict[str, str]] = {
    "case_id": {"type": "string", "format": "uuid"},
    "school": {"type": "string", "pattern": "^[A-Z]{2,8}$"},
    "reference": {"type": "string"},
    "recorded_by": {"type": "string"},
    "recorded_by_role": {"type": "string"},
    "occurred_at": {"type": "string", "format": "date-time"},
    "recorded_at": {"type": "string", "format": "date-time"},
}


def shape(contract: type[Contract]) -> dict[str, list[str]]:
    """What a consumer depends on. Sorted: the order of fields in JSON means nothing."""
    schema = contract.model_json_schema()
    properties: dict[str, dict[str, Any]] = schema["properties"]
    return {
        "properties": sorted(properties),
        "required": sorted(schema.get("required", [])),
        "personal": sorted(n for n, p in properties.items() if p.get(PERSONAL_DATA_KEY)),
    }


def snapshot_text() -> str:
    """The snapshot as written: one line per list, so that a diff names the contract changed."""
    lines = []
    for subject in sorted(CONTRACTS):
        entries = [
            f"    {json.dumps(k)}: {json.dumps(v)}" for k, v in shape(CONTRACTS[subject]).items()
        ]
        lines.append(f"  {json.dumps(subject)}: {{\n" + ",\n".join(entries) + "\n  }")
    return "{\n" + ",\n".join(lines) + "\n}\n"


def test_the_snapshot_names_every_registered_contract_and_no_other() -> None:
    assert set(json.loads(SNAPSHOT.read_text())) == set(CONTRACTS)


@pytest.mark.parametrize("subject", sorted(CONTRACTS))
def test_the_contract_keeps_its_fields_required_fields_and_personal_fields(subject: str) -> None:
    recorded = json.loads(SNAPSHOT.read_text())[subject]
    assert shape(CONTRACTS[subject]) == recorded


@pytest.mark.parametrize("subject", sorted(CONTRACTS))
def test_the_envelope_keeps_its_types_and_constraints(subject: str) -> None:
    properties = CONTRACTS[subject].model_json_schema()["properties"]
    carried = ENVELOPE.keys() & properties.keys()
    assert {"case_id", "school", "reference"} <= carried
    for name in carried:
        published = {k: v for k, v in properties[name].items() if k not in {"title", "description"}}
        assert published == ENVELOPE[name], name


if __name__ == "__main__":
    SNAPSHOT.write_text(snapshot_text())
