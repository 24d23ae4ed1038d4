"""Published contracts do not change by accident: golden JSON samples per subject and version."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from shared.contracts import Contract, decode, loaded
from shared.contracts.intake import IncidentReportedV1
from shared.contracts.referral import AssessmentRecordedV1

GOLDEN = Path(__file__).with_name("golden")
CONTRACTS = loaded()


def test_every_published_contract_has_a_golden_sample_and_no_sample_is_orphaned() -> None:
    samples = {p.stem for p in GOLDEN.glob("*.json")}
    assert samples == set(CONTRACTS)


@pytest.mark.parametrize("subject", sorted(CONTRACTS))
def test_the_golden_sample_still_decodes_and_encodes_to_the_same_json(subject: str) -> None:
    sample = json.loads((GOLDEN / f"{subject}.json").read_text())
    contract = decode(subject, json.dumps(sample).encode())
    assert json.loads(contract.model_dump_json()) == sample


@pytest.mark.parametrize("subject", sorted(CONTRACTS))
def test_the_version_is_in_the_class_name_and_the_subject(subject: str) -> None:
    cls = CONTRACTS[subject]
    version = subject.rsplit(".", 1)[1]
    assert version.startswith("v")
    assert cls.__name__.endswith(version.upper())
    assert subject.startswith(f"{cls.producer}.")


def test_contracts_are_frozen() -> None:
    sample = (GOLDEN / "intake.incident.reported.v1.json").read_bytes()
    contract = decode(IncidentReportedV1.subject, sample)
    with pytest.raises(ValidationError):
        contract.school = "ELM"  # type: ignore[misc]


def test_a_field_added_later_in_the_version_is_ignored_by_older_consumers() -> None:
    sample = json.loads((GOLDEN / "referral.assessment.recorded.v1.json").read_text())
    sample["added_in_a_later_release"] = "optional"
    contract = decode(AssessmentRecordedV1.subject, json.dumps(sample).encode())
    assert not hasattr(contract, "added_in_a_later_release")


def test_a_sample_missing_a_required_field_is_refused() -> None:
    sample = json.loads((GOLDEN / "intake.incident.reported.v1.json").read_text())
    del sample["school"]
    with pytest.raises(ValidationError):
        decode(IncidentReportedV1.subject, json.dumps(sample).encode())


def test_personal_data_is_marked() -> None:
    assert IncidentReportedV1.personal_fields() == ("summary",)
    assert AssessmentRecordedV1.personal_fields() == ("facts",)  # pseudonyms, ages
    schema = IncidentReportedV1.model_json_schema()
    assert schema["properties"]["summary"]["x-personal-data"] is True
    assert all(issubclass(c, Contract) for c in CONTRACTS.values())


def _allowed(contract: type[Any], question: str) -> set[str]:
    from typing import get_args

    from services.intake.domain import MULTI_ANSWER

    annotation = contract.model_fields[question].annotation
    if question in MULTI_ANSWER:
        annotation = get_args(annotation)[0]  # tuple[Literal[...], ...]
    literal = get_args(annotation)
    if literal and not isinstance(literal[0], str):  # a Literal behind an alias
        literal = get_args(literal[0])
    return set(literal)


def test_the_triage_contract_offers_exactly_the_domains_questions_and_answers() -> None:
    from services.intake.domain import TRIAGE_ANSWERS
    from shared.contracts.intake import TriageRecordedV2

    assert set(TriageRecordedV2.question_fields()) == set(TRIAGE_ANSWERS)
    for question, allowed in TRIAGE_ANSWERS.items():
        assert _allowed(TriageRecordedV2, question) == set(allowed), question
    assert TriageRecordedV2.personal_fields() == ("image_locations", "correction_reason")


def test_the_first_triage_contract_asked_the_acts_in_the_imagery_as_one_question() -> None:
    from services.intake.domain import ASKED_AS_ONE, TRIAGE_ANSWERS
    from shared.contracts.intake import TriageRecordedV1

    apart = {"violent_or_abusive_acts", "acts_unusual_for_development"}
    assert set(TriageRecordedV1.question_fields()) == set(TRIAGE_ANSWERS) - apart | {ASKED_AS_ONE}
    assert _allowed(TriageRecordedV1, ASKED_AS_ONE) == {"yes", "no", "unknown"}
    assert TriageRecordedV1.personal_fields() == ("image_locations", "correction_reason")


def test_a_v1_triage_encodes_its_fields_in_the_order_it_always_did() -> None:
    """Review hashes each message as encoded: a rebuild that decodes an old message again must
    get the same bytes, so V1's field order is part of V1."""
    from shared.contracts.intake import TriageRecordedV1

    sample = (GOLDEN / "intake.triage.recorded.v1.json").read_bytes()
    encoded = decode(TriageRecordedV1.subject, sample).model_dump_json()
    assert list(json.loads(encoded)) == [
        *("case_id", "school", "reference", "recorded_by", "recorded_by_role"),
        *("occurred_at", "recorded_at", "entry_number", "disclosing_about", "image_nature"),
        *("ai_generated_or_altered", "dsl_consulted", "how_widely_shared"),
        *("device_in_possession", "device_ownership", "immediate_support_needed"),
        *("other_young_people_involved", "image_locations", "adult_involvement"),
        *("coercion_blackmail_or_grooming", "capacity_to_consent_concerns"),
        *("acts_unusual_or_violent", "pictured_under_13", "immediate_risk_of_harm"),
        *("financially_motivated_extortion", "sexual_acts", "correction_reason"),
    ]


def _words(annotation: Any) -> set[Any] | None:
    """The words a Literal field (or a list or tuple of one) allows; None for any other."""
    from typing import Annotated, Literal, get_args, get_origin

    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) is Literal:
        return set(get_args(annotation))
    if get_origin(annotation) in (list, tuple):
        return _words(get_args(annotation)[0])
    return None


def test_each_published_kinds_vocabulary_is_its_contracts() -> None:
    """A kind of entry's words are declared once (shared.vocabulary), on its field: the
    contract it is published as offers exactly the same words for that field."""
    from typing import get_type_hints

    from services.intake.adapters.contracts import _PUBLISHES

    compared = 0
    for kind, publishes in _PUBLISHES.items():
        hints = get_type_hints(kind, include_extras=True)
        for name, annotation in hints.items():
            field = publishes.contract.model_fields.get(publishes.renamed.get(name, name))
            words = _words(annotation)
            if field is None or words is None:
                continue
            assert _words(field.annotation) == words, (kind.__name__, name)
            compared += 1
    assert compared >= 10  # sex, roles, vulnerabilities, outcome, custody actions, places, …


def test_a_viewing_publishes_its_words_as_personal_data() -> None:
    from shared.contracts.intake import ImageViewedV1

    assert set(ImageViewedV1.personal_fields()) == {
        "pseudonym",
        "same_sex_not_possible_reason",
        "reason",
        "what_was_seen",
        "what_was_done",
    }


def test_an_assessment_published_before_its_optional_fields_still_decodes() -> None:
    """The first build published assessments without subtype, criteria, actions or facts."""
    sample = json.loads((GOLDEN / "referral.assessment.recorded.v1.json").read_text())
    for added in ("subtype", "criteria", "actions", "facts"):
        del sample[added]
    contract = decode(AssessmentRecordedV1.subject, json.dumps(sample).encode())
    assert isinstance(contract, AssessmentRecordedV1)
    assert (contract.subtype, contract.criteria, contract.actions, contract.facts) == (
        "",
        (),
        (),
        "",
    )


def test_a_triage_published_before_sexual_acts_was_asked_reads_as_unknown() -> None:
    from shared.contracts.intake import TriageRecordedV1

    sample = json.loads((GOLDEN / "intake.triage.recorded.v1.json").read_text())
    del sample["sexual_acts"]
    contract = decode(TriageRecordedV1.subject, json.dumps(sample).encode())
    assert isinstance(contract, TriageRecordedV1)
    assert contract.sexual_acts == "unknown"


def test_an_assessment_states_its_classification_reason_and_one_without_encodes_as_before() -> None:
    raw = (GOLDEN / "referral.assessment.recorded.v1.json").read_text()
    without = decode(AssessmentRecordedV1.subject, raw.encode())
    assert isinstance(without, AssessmentRecordedV1)
    assert without.classification_reason == ""
    assert "classification_reason" not in json.loads(without.model_dump_json())

    why = "violent_or_abusive_acts is yes: aggravated whatever the consent"
    stated = {**json.loads(raw), "policy_version": "uk-2024.3", "classification_reason": why}
    contract = decode(AssessmentRecordedV1.subject, json.dumps(stated).encode())
    assert isinstance(contract, AssessmentRecordedV1)
    assert json.loads(contract.model_dump_json())["classification_reason"] == why
