"""Intake's HTTP API: staff record disclosures; the DSL and head see their school's cases.

Run it with ``safeguard serve intake``; OpenAPI at ``/docs``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Request, Response, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, create_model

from services.intake.adapters.contracts import PUBLISHED, to_contract
from services.intake.application import (
    CaseChangedError,
    IdempotencyKeyReusedError,
    IncidentNotFoundError,
    Intake,
    ReferenceBusyError,
)
from services.intake.domain import (
    CLOCK_SKEW,
    MULTI_ANSWER,
    TRIAGE_ANSWERS,
    Incident,
    IntakeError,
    NeedsReasonError,
    Triage,
)
from shared.contracts.intake import DisclosureRoute, TriageRecordedV1
from shared.identity import Authorize, Principal, Role, case_not_found, hide_unless_visible
from shared.imagery import FreeText
from shared.runtime import ServiceRuntime, ServiceSpec, create_http_app
from shared.settings import Settings

SPEC = ServiceSpec(
    name="intake",
    application=Intake,
    to_contract=to_contract,
    published=PUBLISHED,
    description="Policy steps 1-4: disclosures, triage, device search, the image, the DSL.",
)

RECORDERS = Authorize(Role.STAFF, Role.DSL, Role.HEAD)


class DisclosureIn(BaseModel):
    """A disclosure as a member of staff records it. Facts about the image, never the image."""

    model_config = ConfigDict(extra="forbid")

    school: str = Field(pattern=r"^[A-Z]{2,8}$", examples=["OAK"])
    disclosure_route: DisclosureRoute
    summary: FreeText = Field(
        min_length=1,
        max_length=5000,
        description="What was disclosed, in words. Text carrying an image, or a link to one, "
        "is refused.",
    )
    occurred_at: AwareDatetime | None = Field(
        default=None, description="When the disclosure was made; default: now."
    )


class CaseOut(BaseModel):
    """A case as intake holds it."""

    case_id: UUID
    reference: str
    school: str
    disclosure_route: DisclosureRoute
    summary: str
    recorded_by: str
    occurred_at: datetime
    recorded_at: datetime

    @classmethod
    def of(cls, incident: Incident) -> CaseOut:
        return cls(
            case_id=incident.id,
            reference=incident.reference,
            school=incident.school,
            disclosure_route=DisclosureRoute(incident.disclosure_route),
            summary=incident.summary,
            recorded_by=incident.recorded_by,
            occurred_at=incident.occurred_at,
            recorded_at=incident.recorded_at,
        )


router = APIRouter(tags=["cases"])


def _intake(request: Request) -> Intake:
    runtime: ServiceRuntime = request.app.state.runtime
    assert isinstance(runtime.app, Intake)
    return runtime.app


@router.post("/cases", status_code=status.HTTP_201_CREATED, response_model=CaseOut)
def record_disclosure(
    body: DisclosureIn,
    request: Request,
    response: Response,
    principal: Annotated[Principal, Depends(RECORDERS)],
    idempotency_key: Annotated[
        str | None, Header(max_length=200, description="Same key, same case: retries are safe.")
    ] = None,
) -> CaseOut:
    """Step 1: record a disclosure. Returns the case id and its human reference."""
    runtime: ServiceRuntime = request.app.state.runtime
    if runtime.trust.school(body.school) is None:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [
                {
                    "loc": ["body", "school"],
                    "msg": f"no school {body.school} in this trust",
                    "type": "value_error",
                }
            ],
        )
    if not principal.may_act_for(body.school):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"this token does not act for school {body.school}"
        )
    now = datetime.now(UTC)
    if body.occurred_at is not None and body.occurred_at > now + CLOCK_SKEW:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [
                {
                    "loc": ["body", "occurred_at"],
                    "msg": "occurred_at is in the future",
                    "type": "value_error",
                }
            ],
        )
    try:
        incident, created = _intake(request).report_incident(
            school=body.school,
            disclosure_route=str(body.disclosure_route),
            summary=body.summary,
            recorded_by=principal.user,
            recorded_by_role=str(principal.role),
            occurred_at=body.occurred_at,
            idempotency_key=idempotency_key,
        )
    except (IntakeError, IdempotencyKeyReusedError) as e:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(e)) from None
    except ReferenceBusyError as e:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"{e}; retry with the same Idempotency-Key",
            headers={"Retry-After": "1"},
        ) from None
    if not created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/cases/{incident.id}"
    return CaseOut.of(incident)


@router.get("/cases/{case_id}", response_model=CaseOut)
def get_case(
    case_id: UUID,
    request: Request,
    response: Response,
    principal: Annotated[Principal, Depends(RECORDERS)],
) -> CaseOut:
    """A case as recorded. Staff see only what they recorded; the DSL and head, their school's.

    The ``ETag`` is the case's version: send it back as ``If-Match`` with a change, and the
    change is refused (409) if someone else changed the case in between."""
    incident = _visible_incident(request, principal, case_id)
    response.headers["ETag"] = f'"{incident.version}"'
    return CaseOut.of(incident)


def _visible_incident(request: Request, principal: Principal, case_id: UUID) -> Incident:
    try:
        incident = _intake(request).get_incident(case_id)
    except IncidentNotFoundError:
        raise case_not_found() from None
    hide_unless_visible(principal, incident.school)
    if principal.role == Role.STAFF and incident.recorded_by != principal.user:
        raise case_not_found()
    return incident


class ImageLocationIn(BaseModel):
    """Where the image is: a named device, the school network, a site or app. Never a link."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["device", "school_network", "site_or_app", "unknown"]
    name: FreeText = Field(default="", max_length=200, examples=["Snapchat"])


def _answer_field(question: str) -> tuple[Any, Any]:
    annotation = TriageRecordedV1.model_fields[question].annotation
    default: Any = ("unknown",) if question in MULTI_ANSWER else "unknown"
    return annotation, Field(default=default)


# The answers' types are the published contract's, so the two cannot drift; a test ties both
# to the domain's table of questions.
_TRIAGE_FIELDS: dict[str, Any] = {
    **{question: _answer_field(question) for question in TRIAGE_ANSWERS},
    "image_locations": (list[ImageLocationIn], Field(default_factory=list, max_length=50)),
    "reason": (
        FreeText,
        Field(default="", max_length=2000, description="Required when correcting an entry."),
    ),
    "occurred_at": (AwareDatetime | None, Field(default=None, description="Default: now.")),
}
TriageIn = create_model(
    "TriageIn",
    __config__=ConfigDict(extra="forbid"),
    __doc__="Step 1 triage: each question answered, or left out to record it as unknown.",
    **_TRIAGE_FIELDS,
)


class TriageOut(BaseModel):
    """One triage entry."""

    entry_number: int
    answers: dict[str, Any]
    image_locations: list[dict[str, str]]
    reason: str
    recorded_by: str
    recorded_by_role: str
    occurred_at: datetime
    recorded_at: datetime

    @classmethod
    def of(cls, entry: Triage) -> TriageOut:
        return cls(
            entry_number=entry.number,
            answers=entry.answers,
            image_locations=entry.image_locations,
            reason=entry.reason,
            recorded_by=entry.recorded_by,
            recorded_by_role=entry.recorded_by_role,
            occurred_at=entry.occurred_at,
            recorded_at=entry.recorded_at,
        )


@router.post(
    "/cases/{case_id}/triage", status_code=status.HTTP_201_CREATED, response_model=TriageOut
)
def record_triage(
    case_id: UUID,
    body: TriageIn,
    request: Request,
    response: Response,
    principal: Annotated[Principal, Depends(RECORDERS)],
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
    if_match: Annotated[
        str | None, Header(description="The ETag of the case as you read it.")
    ] = None,
) -> TriageOut:
    """Step 1: record the triage answers. A second entry corrects the first, with its reason;
    both stay in the record."""
    incident = _visible_incident(request, principal, case_id)
    values = body.model_dump()
    if values["occurred_at"] is not None and values["occurred_at"] > datetime.now(UTC) + CLOCK_SKEW:
        raise _field_error("occurred_at", "occurred_at is in the future")
    expected = None
    if if_match is not None:
        try:
            expected = int(if_match.strip().strip('"'))
        except ValueError:
            raise _field_error(
                "if-match", "If-Match must be an ETag from GET /cases/{id}"
            ) from None
    try:
        entry, created = _intake(request).record_triage(
            incident.id,
            answers={q: values[q] for q in TRIAGE_ANSWERS},
            image_locations=values["image_locations"],
            reason=values["reason"],
            recorded_by=principal.user,
            recorded_by_role=str(principal.role),
            occurred_at=values["occurred_at"],
            idempotency_key=idempotency_key,
            expected_version=expected,
        )
    except NeedsReasonError as e:
        raise _field_error("reason", str(e)) from None
    except (IntakeError, IdempotencyKeyReusedError) as e:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(e)) from None
    except CaseChangedError as e:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"{e}: read the case again (GET /cases/{case_id}), check the answers still stand, "
            "and send them with the new ETag as If-Match",
        ) from None
    if not created:
        response.status_code = status.HTTP_200_OK
    return TriageOut.of(entry)


@router.get("/cases/{case_id}/triage", response_model=list[TriageOut])
def get_triage(
    case_id: UUID, request: Request, principal: Annotated[Principal, Depends(RECORDERS)]
) -> list[TriageOut]:
    """Every triage entry of the case, oldest first: corrections never hide what came before."""
    incident = _visible_incident(request, principal, case_id)
    return [TriageOut.of(entry) for entry in incident.triage]


def _field_error(field: str, message: str) -> HTTPException:
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        [{"loc": ["body", field], "msg": message, "type": "value_error"}],
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    """The intake service's HTTP app."""
    return create_http_app(SPEC, settings or Settings(), router)
