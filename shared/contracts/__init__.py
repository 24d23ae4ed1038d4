"""The only code one service imports from another: the events each service publishes.

Each contract is a frozen pydantic model owned by its producer, versioned in its class name and
its subject (``IncidentReportedV1`` on ``intake.incident.reported.v1``). Within a version only
optional fields are added; a breaking change is a new ``V2``. Consumers ignore fields they do not
know, so a producer may add optional fields before its consumers are upgraded.

Fields that hold personal data are marked with :data:`Personal` so that a later change can encrypt
them with a per-case key and shred a case when its retention ends.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

PERSONAL_DATA_KEY = "x-personal-data"

Personal = Annotated[str, Field(json_schema_extra={PERSONAL_DATA_KEY: True})]
"""A string that holds personal data (a pseudonymous reference, a summary in words, a date of
birth). Never logged; to be encrypted per case."""


class Contract(BaseModel):
    """Base of every published event: frozen, tolerant of fields added later in its version."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    subject: ClassVar[str]
    producer: ClassVar[str]
    """The service that publishes it: the first word of its subject (set by :func:`register`)."""

    @classmethod
    def personal_fields(cls) -> tuple[str, ...]:
        """Names of the fields marked :data:`Personal`."""
        return tuple(
            name
            for name, info in cls.model_fields.items()
            if isinstance(info.json_schema_extra, dict)
            and info.json_schema_extra.get(PERSONAL_DATA_KEY)
        )


SchoolCode = str
"""A school's code within the trust, e.g. ``OAK``: two to eight capital letters."""


class CaseContract(Contract):
    """Base of an event about one case: which case, at which school, by its human reference."""

    case_id: UUID = Field(description="The case's id, given when the incident was reported.")
    school: SchoolCode = Field(
        pattern=r"^[A-Z]{2,8}$", description="The school's code within the trust, e.g. OAK."
    )
    reference: str = Field(description="Human reference unique per school, e.g. OAK-2026-0007.")


class CaseEntryContract(CaseContract):
    """Base of an entry a member of staff recorded on a case: who recorded it, in which role,
    when it happened and when it was stored."""

    recorded_by: str = Field(description="User id of the member of staff who recorded it.")
    recorded_by_role: str = Field(description="Their role when they recorded it, e.g. dsl.")
    occurred_at: AwareDatetime = Field(description="When it happened.")
    recorded_at: AwareDatetime = Field(description="When it was stored.")


class EntryRecordedContract(CaseEntryContract):
    """Base of a producer's entry published by its declaration alone, for a kind of entry with
    no contract of its own: what kind it is, its policy step, its words (the producer's), and
    its facts as canonical JSON. A new kind of entry reaches the case's chronology so, with
    nothing written for it outside its declaration; a kind that others must act on gets a
    contract of its own."""

    kind: str = Field(description="What it is, in snake case, e.g. parents_spoken_to.")
    step: int = Field(ge=0, le=8, description="The policy's step (0: a record beside them).")
    summary: Personal = Field(description="The entry in words.")
    facts: Personal = Field(description="The entry's facts as canonical JSON.")


_REGISTRY: dict[str, type[Contract]] = {}


def register(cls: type[Contract]) -> type[Contract]:
    """Class decorator: make ``cls`` decodable from its subject."""
    if cls.subject in _REGISTRY:
        msg = f"two contracts claim subject {cls.subject}"
        raise ValueError(msg)
    cls.producer = cls.subject.split(".", 1)[0]
    _REGISTRY[cls.subject] = cls
    return cls


class UnknownSubjectError(LookupError):
    """No contract is registered for a subject."""


def contract_for(subject: str) -> type[Contract]:
    try:
        return _REGISTRY[subject]
    except KeyError:
        raise UnknownSubjectError(subject) from None


def decode(subject: str, data: bytes) -> Contract:
    """The contract a message carries; raises ``pydantic.ValidationError`` if it does not fit."""
    return contract_for(subject).model_validate_json(data)


def loaded() -> dict[str, Any]:
    """Import every producer's module so the registry is complete."""
    from shared.contracts import intake, referral, review  # noqa: F401

    return dict(_REGISTRY)
