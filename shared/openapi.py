"""Each service's API documentation: ``/docs`` (Swagger UI) and ``/redoc`` served by the service
itself, and an OpenAPI document that says which errors each route can answer.

* **No internet needed.** FastAPI's own ``/docs`` and ``/redoc`` load their scripts and styles
  from a CDN, and ReDoc its fonts from Google: on a school's or a trust's network without the
  internet (or one that blocks CDNs) they are blank pages. The ``fastapi-offline`` package ships
  Swagger UI, ReDoc and a favicon inside the wheel, and builds the app with both pages pointing
  at them (FastAPI's documented recipe for self-hosted docs assets, packaged). It is kept up to
  date (new releases follow Swagger UI's and ReDoc's) and widely used, unlike
  ``swagger-ui-bundle`` (Swagger UI only, last released in 2023). Swagger UI's online validator
  is switched off as well: it would send the document to validator.swagger.io.
* **The bearer token.** :class:`shared.identity.Authorize` reads the token through FastAPI's
  ``HTTPBearer`` scheme, so FastAPI itself marks each route that needs one (the lock, and
  "Authorize" in ``/docs`` sends it).
* **The errors.** FastAPI documents 422 from the models; what the routes raise themselves is added
  here from what each operation declares, so that a new route is documented as it is written:
  401 and 403 where a token is needed, 404 where a case is named, 409 on a POST that takes
  ``If-Match``, 503 where the store is used (every route that needs a token; the health checks
  are the only routes without one, and ``/readyz`` answers its own 503 with its report).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, Field

__all__ = ["HTTPError", "documented_app"]


class HTTPError(BaseModel):
    """An error answer: what went wrong, and what to do where there is something to do."""

    detail: str = Field(description="What went wrong, in words; never the input sent.")


_REF = "#/components/schemas/{model}"

_UNAUTHORIZED = 401
_FORBIDDEN = 403
_NOT_FOUND = 404
_CONFLICT = 409
_UNAVAILABLE = 503

_DESCRIPTIONS = {
    _UNAUTHORIZED: "No bearer token, or one that is invalid or expired.",
    _FORBIDDEN: "The token's role may not do this.",
    _NOT_FOUND: "No such case, or a case the token may not see: the same answer for both.",
    _CONFLICT: "The case changed since the ETag sent as If-Match: read it again, check the "
    "entry still stands, and send it with the new ETag.",
    _UNAVAILABLE: "The case store is unavailable, full or read-only (the detail says which): "
    "nothing was recorded. Retry shortly (a POST with the same Idempotency-Key).",
}

_HEADERS: dict[int, dict[str, Any]] = {
    _UNAUTHORIZED: {
        "WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}},
    },
    _UNAVAILABLE: {
        "Retry-After": {"description": "Seconds to wait first.", "schema": {"type": "integer"}},
    },
}


def documented_app(**fastapi_options: Any) -> FastAPI:
    """A FastAPI app (``fastapi_options`` as for ``FastAPI``) whose ``/docs`` and ``/redoc``
    need no internet, and whose OpenAPI document lists each route's errors (the routes may be
    added later: the document is completed when it is first generated)."""
    fastapi_options.setdefault("swagger_ui_parameters", {"validatorUrl": None})
    app = FastAPIOffline(**fastapi_options)
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        # FastAPI's documented way to extend the document: replace app.openapi, keep its cache.
        if app.openapi_schema is None:
            app.openapi_schema = with_errors(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def with_errors(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with, on each operation, the errors it can answer (a response an operation
    declares itself is kept as it is) and their model."""
    used = False
    for path_item in document.get("paths", {}).values():
        for method, operation in path_item.items():
            responses = operation.setdefault("responses", {})
            for code in errors_of(method, operation):
                used = True
                responses.setdefault(str(code), _response(code))
            operation["responses"] = dict(sorted(responses.items()))  # as /docs lists them
    if used:
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        schemas.setdefault(HTTPError.__name__, HTTPError.model_json_schema(ref_template=_REF))
    return document


def errors_of(method: str, operation: dict[str, Any]) -> list[int]:
    """The errors an operation can answer besides 422, from what it declares: a security
    requirement (the bearer token), a ``case_id`` in its path, an ``If-Match`` header."""
    parameters = {(p.get("in"), p.get("name", "").lower()) for p in operation.get("parameters", [])}
    token = bool(operation.get("security"))
    codes = []
    if token:
        codes += [_UNAUTHORIZED, _FORBIDDEN]
    if ("path", "case_id") in parameters:
        codes.append(_NOT_FOUND)
    if method.lower() == "post" and ("header", "if-match") in parameters:
        codes.append(_CONFLICT)
    if token:
        codes.append(_UNAVAILABLE)
    return codes


def _response(code: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": _DESCRIPTIONS[code],
        "content": {
            "application/json": {"schema": {"$ref": _REF.format(model=HTTPError.__name__)}}
        },
    }
    if code in _HEADERS:
        response["headers"] = _HEADERS[code]
    return response
