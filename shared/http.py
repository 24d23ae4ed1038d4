"""The HTTP conventions every service's API keeps: a case named in a path by its id or its
reference, a 422 that names the field, an ``Idempotency-Key`` on every POST, ``If-Match``
against a concurrent change (409 with what to do), no time in the future, and routes that
record one entry of a case."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import Enum
from typing import Annotated, Any, Protocol, Self, TypeVar
from uuid import UUID

from fastapi import (
    APIRouter,
    Depends,
    Header,
    HTTPException,
    Path,
    Query,
    Request,
    Response,
    status,
)
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)
from pydantic_core import PydanticCustomError

from shared.actions import ActionState
from shared.application import CaseChangedError, IdempotencyKeyReusedError, ServiceApplication
from shared.entries import CLOCK_SKEW, CaseEntry, EntryError, NeedsReasonError
from shared.identity import Authorize, Principal, case_not_found, hide_unless_visible
from shared.local_time import TrustTime
from shared.references import REFERENCE_PATTERN


def _one_error(value: object, handler: ValidatorFunctionWrapHandler) -> object:
    # One message for the path, not one per way a case can be named.
    try:
        return handler(value)
    except ValidationError:
        raise PydanticCustomError(
            "case_id", "neither a case id (a UUID) nor a case reference such as OAK-2026-0002"
        ) from None


CaseNamed = Annotated[
    UUID | Annotated[str, StringConstraints(pattern=REFERENCE_PATTERN)], WrapValidator(_one_error)
]
"""A case as a path names it: its id, or its reference."""


def case_id_of(
    request: Request,
    case_id: Annotated[
        CaseNamed,
        Path(
            description="The case: its id, or its reference.",
            examples=["OAK-2026-0002", "0f6f3c1e-8a51-4d8e-9c3e-2b1d5f6a7c80"],
        ),
    ],
) -> UUID:
    """The id of the case a path names by its id or its reference. A reference no case has is
    404 as an id is; whether the caller may see the case is the route's to check, the same
    whichever way it was named."""
    if isinstance(case_id, UUID):
        return case_id
    app: ServiceApplication = request.app.state.runtime.app
    found = app.case_named(case_id)
    if found is None:
        raise case_not_found()
    return found


CaseId = Annotated[UUID, Depends(case_id_of)]
"""A case named in a path, as ``/cases/{case_id}``: by its id or its reference."""

App = TypeVar("App", bound=ServiceApplication)


def application_of(request: Request, kind: type[App]) -> App:
    """The service's application (of ``kind``) that answers ``request``."""
    app = request.app.state.runtime.app
    assert isinstance(app, kind)
    return app


def visible_case(
    request: Request, principal: Principal, case_id: UUID, *, missing: type[LookupError]
) -> Any:
    """The case (the service's own aggregate, by :meth:`ServiceApplication.get_case`), if the
    principal may see it; else 404, as for a case that does not exist (``missing``: the
    service's own not-found error)."""
    try:
        case = application_of(request, ServiceApplication).get_case(case_id)
    except missing:
        raise case_not_found() from None
    hide_unless_visible(principal, case.school)  # type: ignore[attr-defined]
    return case


SchoolAsked = Annotated[
    str | None,
    Query(
        pattern=r"^[A-Z]{2,8}$",
        description="One school; default: every school the token names (a trust-wide token: "
        "every school of the trust).",
        examples=["OAK"],
    ),
]
"""The ``?school=`` of a list: see :func:`shared.identity.schools_listed`."""

IdempotencyKey = Annotated[
    str | None, Header(max_length=200, description="Same key, same entry: retries are safe.")
]
IfMatch = Annotated[str | None, Header(description="The ETag of the case as you read it.")]


def field_error(field: str, message: str) -> HTTPException:
    """A 422 that names the field, as pydantic's own do."""
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        [{"loc": ["body", field], "msg": message, "type": "value_error"}],
    )


def expected_version(if_match: str | None) -> int | None:
    """The case version an ``If-Match`` header names (an ETag from reading the case)."""
    if if_match is None:
        return None
    try:
        return int(if_match.strip().strip('"'))
    except ValueError:
        raise field_error("if-match", "If-Match must be an ETag from reading the case") from None


def refuse_future(occurred_at: datetime | None) -> None:
    """A time later than now (beyond a school clock running a little fast) is a mistake."""
    if occurred_at is not None and occurred_at > datetime.now(UTC) + CLOCK_SKEW:
        raise field_error("occurred_at", "occurred_at is in the future")


@contextmanager
def entry_errors(case_url: str) -> Iterator[None]:
    """How a refused entry of a case is answered: 422 naming the rule (and the field that
    should carry a missing reason), or 409 with what to do."""
    try:
        yield
    except NeedsReasonError as e:
        raise field_error(e.field, str(e)) from None
    except (EntryError, IdempotencyKeyReusedError) as e:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(e)) from None
    except CaseChangedError as e:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"{e}: read the case again (GET {case_url}), check your entry still stands, "
            "and send it with the new ETag as If-Match",
        ) from None


class EntryIn(BaseModel):
    """What every entry sent carries besides its own facts."""

    model_config = ConfigDict(extra="forbid")

    occurred_at: TrustTime | None = Field(
        default=None, description="When it happened (without a zone: in the trust's); default: now."
    )


class EntryOut(BaseModel):
    """Who recorded an entry, and when it happened and was recorded."""

    recorded_by: str
    recorded_by_role: str
    occurred_at: datetime
    recorded_at: datetime

    @classmethod
    def of(cls, entry: CaseEntry) -> Self:
        # The entry's own fields that the model shows: never its idempotency key.
        return cls(**{name: getattr(entry, name) for name in cls.model_fields})


class ActionOut(BaseModel):
    """An action as it stands: what the latest assessment asks, by when, and the decision."""

    action: str
    level: str = Field(description="required, recommended, dsl_decides or no_longer_required")
    why: str
    declinable: bool
    status: str = Field(description="open, done or declined")
    required_since: datetime
    due_at: datetime
    overdue: bool
    policy_version: str
    decision: dict[str, Any]
    history: list[str]

    @classmethod
    def of(cls, action: ActionState, now: datetime) -> ActionOut:
        return cls(**{**vars(action), "overdue": action.overdue(now)})


class RecordEntry(Protocol):
    """How a service records one entry of a case it has found visible to the principal."""

    def __call__(
        self,
        request: Request,
        principal: Principal,
        case_id: UUID,
        kind: type[CaseEntry],
        *,
        details: dict[str, Any],
        occurred_at: datetime | None,
        idempotency_key: str | None,
        expected_version: int | None,
    ) -> tuple[CaseEntry, bool]: ...


def post_entry_route(
    router: APIRouter,
    path: str,
    route: Callable[..., Any],
    *,
    body: type[BaseModel],
    out: type[Any],
    who: Authorize,
    name: str,
    description: str,
    tags: list[str | Enum] | None = None,
) -> None:
    """Add ``route``, written once for many routes (its parameters as keywords), as ``POST
    path`` recording one entry of a case: 201 with ``out``. FastAPI reads the parameters from
    the signature given here: the case id, the body (this route's own model, so that the
    OpenAPI shows it), the request and response, the principal ``who`` lets in,
    ``Idempotency-Key`` and ``If-Match``."""
    keyword = inspect.Parameter.KEYWORD_ONLY
    route.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("case_id", keyword, annotation=CaseId),
            inspect.Parameter("body", keyword, annotation=body),
            inspect.Parameter("request", keyword, annotation=Request),
            inspect.Parameter("response", keyword, annotation=Response),
            inspect.Parameter("principal", keyword, annotation=Principal, default=Depends(who)),
            inspect.Parameter("idempotency_key", keyword, annotation=IdempotencyKey, default=None),
            inspect.Parameter("if_match", keyword, annotation=IfMatch, default=None),
        ],
        return_annotation=out,
    )
    route.__name__ = name
    route.__doc__ = description
    router.add_api_route(
        path,
        route,
        methods=["POST"],
        status_code=status.HTTP_201_CREATED,
        response_model=out,
        name=name,
        tags=tags,
    )


def add_entry_route(
    router: APIRouter,
    path: str,
    kind: type[CaseEntry],
    *,
    body: type[BaseModel],
    out: Any,
    who: Authorize,
    description: str,
    record: RecordEntry,
    case_url: str = "/cases/{case_id}",
    name: str | None = None,
    details: Callable[[Any], dict[str, Any]] | None = None,
) -> None:
    """Add ``POST path``: one entry of a case of a declared ``kind``; 201 with the entry (as
    ``out.of(entry)``), or 200 with the entry a retry's first attempt recorded. ``details``
    turns what is sent into the entry's facts (default: the body's fields, less
    ``occurred_at``)."""

    def route(**kwargs: Any) -> Any:
        sent = kwargs["body"]
        refuse_future(sent.occurred_at)
        with entry_errors(case_url.format(case_id=kwargs["case_id"])):
            entry, created = record(
                kwargs["request"],
                kwargs["principal"],
                kwargs["case_id"],
                kind,
                details=details(sent) if details else sent.model_dump(exclude={"occurred_at"}),
                occurred_at=sent.occurred_at,
                idempotency_key=kwargs["idempotency_key"],
                expected_version=expected_version(kwargs["if_match"]),
            )
        if not created:
            kwargs["response"].status_code = status.HTTP_200_OK
        return out.of(entry)

    post_entry_route(
        router,
        path,
        route,
        body=body,
        out=out,
        who=who,
        name=name or kind.__name__,
        description=description,
    )


def add_list_route(
    router: APIRouter,
    path: str,
    out: Any,
    *,
    who: Authorize,
    case: Callable[[Request, Principal, UUID], Any],
    entries: Callable[[Any], Iterable[Any]],
    name: str,
    description: str,
) -> None:
    """Add ``GET path``: the entries of one kind a case holds, oldest first, each as
    ``out.of(entry)``; ``case`` finds the case the principal may see (else 404)."""

    def route(case_id: CaseId, request: Request, principal: Principal) -> list[Any]:
        return [out.of(entry) for entry in entries(case(request, principal, case_id))]

    route.__annotations__["principal"] = Annotated[Principal, Depends(who)]
    route.__name__ = name
    route.__doc__ = description
    router.add_api_route(path, route, methods=["GET"], response_model=list[out], name=name)
