"""Each published event class maps onto its contract: a misspelt rename would lose a field."""

from __future__ import annotations

import typing

import pytest

from services.intake.adapters import contracts as intake
from services.intake.domain import ENTRY_KINDS, CaseEntry, DeletionConfirmed
from services.referral import domain as referral_domain
from services.referral.adapters import contracts as referral
from services.referral.domain import ActionDeclined
from shared.publishing import Publishes

TABLES = {**intake._PUBLISHES, **referral._PUBLISHES}
# Every mapping, the one of a triage entry asked the old way too.
MAPPINGS = [*TABLES.items(), *intake.TRIAGE_ASKED_AS_ONE.items()]


@pytest.mark.parametrize(
    ("event_class", "publishes"),
    MAPPINGS,
    ids=[f"{c.__qualname__}-{p.contract.__name__}" for c, p in MAPPINGS],
)
def test_renames_and_spreads_name_real_fields(event_class: type, publishes: Publishes) -> None:
    stored = set(typing.get_type_hints(event_class))
    published = set(publishes.contract.model_fields)
    for stored_name, contract_name in publishes.renamed.items():
        assert stored_name in stored, stored_name
        assert contract_name in published, contract_name
    if publishes.spread:
        assert publishes.spread in stored
    # Every contract field but the case id comes from the stored event (or its spread dict).
    direct = {publishes.renamed.get(name, name) for name in stored}
    missing = published - direct - {"case_id"}
    assert not missing or publishes.spread, missing


@pytest.mark.parametrize(
    ("event_class", "publishes"),
    MAPPINGS,
    ids=[f"{c.__qualname__}-{p.contract.__name__}" for c, p in MAPPINGS],
)
def test_what_the_store_marks_personal_is_personal_in_the_contract(
    event_class: type, publishes: Publishes
) -> None:
    stored_personal = getattr(event_class, "PERSONAL_FIELDS", ())
    published = {publishes.renamed.get(name, name) for name in stored_personal}
    published &= set(publishes.contract.model_fields)
    assert published <= set(publishes.contract.personal_fields())


def test_every_case_entry_is_published_without_its_idempotency_key() -> None:
    # The relay reads only the topics of PUBLISHED: an entry missing here would never leave
    # intake, and nothing else would say so.
    entries = ENTRY_KINDS
    assert DeletionConfirmed in entries
    assert all(issubclass(kind, CaseEntry) for kind in entries)
    assert set(entries) <= set(intake.PUBLISHED)
    for kind in set(entries) & set(intake._PUBLISHES):  # the rest: as_declared, which drops it
        assert "idempotency_key" not in intake._PUBLISHES[kind].contract.model_fields


def test_every_decision_of_the_dsl_is_published_without_its_idempotency_key() -> None:
    decisions = referral_domain.ENTRY_KINDS
    assert ActionDeclined in decisions
    assert set(decisions) <= set(referral.PUBLISHED)
    for kind in set(decisions) & set(referral._PUBLISHES):  # the rest: as_declared drops it
        assert "idempotency_key" not in referral._PUBLISHES[kind].contract.model_fields
