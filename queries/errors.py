"""Errors of the query service, in one place.

- Every response carries a request id (``X-Request-ID``): the request's own when it sent a
  sane one, else a new one (a ``before_send`` hook, so 404s of unknown paths and responses
  made by Litestar itself carry it too).
- Every 5xx leaves one line in the service's log (structlog: JSON on stderr, which ``boleta
  up`` writes to ``.boleta/logs/queries.log``) with that request id: from an exception, its
  traceback (an ``after_exception`` hook); a 5xx response made without one (readiness)
  is logged when it is sent. A 500's body names the request id and never a traceback.
- Inputs the API refuses (``queries.inputs.InputError``, Litestar's own parameter
  validation, unknown parameters) are answered 400 naming each field and what it accepts;
  a moment that has not come yet (``NotYetError``) 404.
- ``documented`` states which statuses a route answers, for its OpenAPI schema.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any, Final

import structlog
from litestar import MediaType, Request, Response
from litestar.datastructures import MutableScopeHeaders, ResponseHeader
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi import ResponseSpec
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap, Message, Scope

from queries.inputs import InputError, NotYetError
from queries.views import ErrorView

REQUEST_ID: Final = "X-Request-ID"
# A request id a client or proxy sent is kept when it looks like one (a UUID, a ULID, a
# trace id...); anything else (too long, control characters, JSON) is replaced.
SANE_REQUEST_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_ID_KEY = "request_id"  # in the scope's state
_LOGGED_KEY = "server_error_logged"
LOGGER: Final = "boleta.queries"

REQUEST_ID_HEADER = ResponseHeader(
    name=REQUEST_ID,
    documentation_only=True,
    required=True,
    description="This request's id: the request's own X-Request-ID when it sent a sane one "
    "(letters, digits and ._:-, at most 128), else a new one. A 5xx's line in the service's "
    "log carries it.",
)


class UnknownParameterError(ValidationException):
    """Query parameters a route does not take (its ``extra`` names each)."""


def request_id(scope: Scope) -> str:
    """The request's id, chosen on first use and kept in the scope's state."""
    state: dict[str, Any] = scope.setdefault("state", {})
    found: str | None = state.get(_ID_KEY)
    if found is None:
        found = state[_ID_KEY] = _sent_id(scope) or uuid.uuid4().hex
    return found


def _sent_id(scope: Scope) -> str | None:
    wanted = REQUEST_ID.lower().encode()
    for name, value in scope.get("headers", ()):
        if name.lower() == wanted:
            text = value.decode("latin-1")
            return text if SANE_REQUEST_ID.fullmatch(text) else None
    return None


def status_of(exc: BaseException) -> int:
    """The status the app answers ``exc`` with."""
    if isinstance(exc, HTTPException):
        return exc.status_code
    if isinstance(exc, InputError):
        return 404 if isinstance(exc, NotYetError) else 400
    return HTTP_500_INTERNAL_SERVER_ERROR


async def stamp_request_id(message: Message, scope: Scope) -> None:
    """``before_send``: the request id on every response; a 5xx that no exception
    explained (so nothing logged it yet) gets its line in the log."""
    if message["type"] != "http.response.start":
        return
    MutableScopeHeaders.from_message(message)[REQUEST_ID] = request_id(scope)
    status = message["status"]
    state = scope.get("state", {})
    if status >= 500 and not state.get(_LOGGED_KEY):
        _logger().warning("server error response", status=status, **_request_fields(scope))


async def log_server_error(exc: Exception, scope: Scope) -> None:
    """``after_exception``: an exception answered with a 5xx is logged with its traceback
    and the request id (4xx are the client's: not logged)."""
    status = status_of(exc)
    if status < 500:
        return
    scope.setdefault("state", {})[_LOGGED_KEY] = True
    log = _logger().error if status == HTTP_500_INTERNAL_SERVER_ERROR else _logger().warning
    log("server error", status=status, exc_info=exc, **_request_fields(scope))


def _request_fields(scope: Scope) -> dict[str, str]:
    return {
        "request_id": request_id(scope),
        "method": str(scope.get("method", "")),
        "path": str(scope.get("path", "")),
        "query": scope.get("query_string", b"").decode("latin-1"),
    }


def _logger() -> Any:
    # Looked up when used, so the process's configuration (boleta.logs) applies.
    return structlog.get_logger(LOGGER)


def internal_error(request: Request[Any, Any, Any], _exc: Exception) -> Response[ErrorView]:
    """A 500: the request id to quote, no traceback (that is in the log)."""
    rid = request_id(request.scope)
    detail = f"Internal Server Error (request id {rid}: the service's log has the details)"
    return Response(
        ErrorView(500, detail),
        status_code=HTTP_500_INTERNAL_SERVER_ERROR,
        media_type=MediaType.JSON,
    )


def input_refused(_request: Request[Any, Any, Any], exc: InputError) -> Response[ErrorView]:
    """An input the API does not accept: 400 naming the field and what it accepts (404 for
    a moment that has not come yet)."""
    status = status_of(exc)
    extra = [{"key": exc.field, "source": "query", "message": exc.message}]
    return Response(
        ErrorView(status, str(exc), extra), status_code=status, media_type=MediaType.JSON
    )


def parameters_refused(
    accepted: Mapping[str, str],
) -> Any:
    """The handler of Litestar's own ``ValidationException`` (a parameter of the wrong
    type or out of its bounds): each field named with its problem and, from ``accepted``,
    what it accepts, in ``detail`` as in ``extra``."""

    def handler(_request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
        extra = exc.extra if isinstance(exc.extra, list) else []
        fields = [item for item in extra if isinstance(item, dict) and item.get("key")]
        if not fields:
            return Response(
                ErrorView(400, exc.detail, exc.extra), status_code=400, media_type=MediaType.JSON
            )
        named = []
        for item in fields:
            key = str(item["key"])
            if key in accepted and not isinstance(exc, UnknownParameterError):
                item["message"] = f"{item.get('message', 'refused')}; accepted: {accepted[key]}"
            named.append(f"{key}: {item.get('message', 'refused')}")
        return Response(
            ErrorView(400, "; ".join(named), fields), status_code=400, media_type=MediaType.JSON
        )

    return handler


def http_error(_request: Request[Any, Any, Any], exc: HTTPException) -> Response[ErrorView]:
    """Any other 4xx or 5xx Litestar raises (404, 401, 503, ...): its status, detail and
    headers, always as JSON, whatever the route serves when it succeeds (the board's
    checkpoints are text, its tiles bytes)."""
    extra = exc.extra if isinstance(exc.extra, (list, dict)) else None
    return Response(
        ErrorView(exc.status_code, exc.detail, extra),
        status_code=exc.status_code,
        headers=exc.headers,
        media_type=MediaType.JSON,
    )


def exception_handlers(accepted: Mapping[str, str]) -> ExceptionHandlersMap:
    return {
        HTTPException: http_error,
        InputError: input_refused,
        ValidationException: parameters_refused(accepted),
        HTTP_500_INTERNAL_SERVER_ERROR: internal_error,
    }


def documented(statuses: Mapping[int, str]) -> dict[int, ResponseSpec]:
    """A route's error responses for its schema: each status with what it means, and the
    500 every route may answer."""
    described = {
        **statuses,
        500: "An internal error: its detail and X-Request-ID name the service's log line",
    }
    return {
        status: ResponseSpec(ErrorView, description=text, generate_examples=False)
        for status, text in described.items()
    }


__all__ = [
    "REQUEST_ID",
    "REQUEST_ID_HEADER",
    "UnknownParameterError",
    "documented",
    "exception_handlers",
    "log_server_error",
    "request_id",
    "stamp_request_id",
    "status_of",
]
