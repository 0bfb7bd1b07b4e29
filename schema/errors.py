"""One place that turns exceptions into GraphQL errors: typed codes for expected failures,
everything else masked to INTERNAL with the request id (and the stack trace logged)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.relay import GlobalIDValueError

from services.errors import DomainError, ErrorCode, OutcomeUnknown, store_failure

log = logging.getLogger("crm.graphql")

_INPUT_ERRORS = (GlobalIDValueError,)


DEFAULT_RETRY_AFTER = 2


def _request_id(context: Any) -> str:
    return str(getattr(context, "request_id", "-"))


def _retry_after(context: Any) -> int:
    settings = getattr(getattr(context, "stores", None), "settings", None)
    return int(getattr(settings, "unavailable_retry_after_seconds", DEFAULT_RETRY_AFTER))


# Whole-request failures outside GraphQL (the middlewares, the CSV export, the health check)
# answer with these.
HTTP_STATUS = {ErrorCode.UNAUTHENTICATED: 401, ErrorCode.FORBIDDEN: 403,
               ErrorCode.NOT_FOUND: 404, ErrorCode.CONFLICT: 409,
               ErrorCode.RATE_LIMITED: 429, ErrorCode.INTERNAL: 500,
               ErrorCode.UNAVAILABLE: 503, ErrorCode.OUTCOME_UNKNOWN: 503}


def error_extensions(error: DomainError, request_id: str) -> dict[str, Any]:
    """`extensions` of an expected failure: its code, the input field it names, when to retry,
    and the request id — the same inside a GraphQL response and outside one."""
    extensions: dict[str, Any] = {"code": error.code.value}
    if error.field:
        extensions["field"] = error.field
    condition = getattr(error, "condition", None)
    if condition is not None:
        extensions["condition"] = condition
    retry_after = getattr(error, "retry_after", None)
    if isinstance(retry_after, int):
        extensions["retryAfter"] = retry_after
    if isinstance(error, OutcomeUnknown) and error.idempotency_key is not None:
        extensions["idempotencyKey"] = error.idempotency_key
    extensions["requestId"] = request_id
    return extensions


def error_body(error: DomainError, request_id: str) -> tuple[dict[str, Any], int]:
    """The one response body (and HTTP status) of a request refused before GraphQL runs."""
    status = HTTP_STATUS.get(error.code, 400)
    return {"errors": [{"message": error.message,
                        "extensions": error_extensions(error, request_id)}]}, status


def log_outage(error: DomainError, request_id: str, cause: BaseException) -> None:
    """A store outage is an operational condition, not a defect: one warning line."""
    log.warning("%s (request %s): %s: %s", error.code.value, request_id,
                type(cause).__name__, str(cause).splitlines()[0] if str(cause) else "")


def format_error(error: GraphQLError, request_id: str,
                 retry_after: int = DEFAULT_RETRY_AFTER) -> GraphQLError:
    original = error.original_error
    extensions: dict[str, Any] = dict(error.extensions or {})
    message = error.message
    outage = (store_failure(original, retry_after)
              if original is not None and not isinstance(original, DomainError) else None)
    if outage is not None and original is not None:
        log_outage(outage, request_id, original)
        message = outage.message
        extensions = error_extensions(outage, request_id)
    elif isinstance(original, DomainError):
        extensions.update(error_extensions(original, request_id))
    elif isinstance(original, _INPUT_ERRORS):
        extensions["code"] = ErrorCode.BAD_USER_INPUT.value
    elif original is None or isinstance(original, GraphQLError):
        extensions.setdefault("code", ErrorCode.BAD_USER_INPUT.value)
    else:
        log.error("unexpected error (request %s) at %s", request_id, error.path,
                  exc_info=original)
        message = f"Internal error; quote request id {request_id} to support"
        extensions = {"code": ErrorCode.INTERNAL.value}
    extensions["requestId"] = request_id
    return GraphQLError(message, nodes=error.nodes, source=error.source,
                       positions=error.positions, path=error.path, extensions=extensions)


class ErrorCodes(SchemaExtension):
    """Runs on every operation result: after execution (HTTP), and on each result a streaming
    transport sends (WebSocket: queries, mutations and subscription events alike)."""

    def on_operation(self) -> Iterator[None]:
        yield
        self._format(self.execution_context.result)

    def on_stream_result(self, result: Any) -> Iterator[None]:
        self._format(result)
        yield

    def _format(self, result: Any) -> None:
        errors = getattr(result, "errors", None)
        if result is not None and errors:
            context = self.execution_context.context
            request_id, retry_after = _request_id(context), _retry_after(context)
            result.errors = [format_error(error, request_id, retry_after) for error in errors]
