"""Expected failures of use cases. The schema layer maps `code` to `extensions.code`."""

from __future__ import annotations

from enum import StrEnum

from graph.engine import GraphUnavailable
from relational.errors import unreachable
from relational.uow import AuditedError, CommitInterrupted


class ErrorCode(StrEnum):
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    RATE_LIMITED = "RATE_LIMITED"
    STEP_UP_REQUIRED = "STEP_UP_REQUIRED"
    UNAVAILABLE = "UNAVAILABLE"
    OUTCOME_UNKNOWN = "OUTCOME_UNKNOWN"
    INTERNAL = "INTERNAL"


class DomainError(AuditedError):
    """A failure the caller can act on; `field` names the offending input field. A refusal
    that must be on record carries its audit record (`.recorded(...)`): the unit of work it
    is raised in commits that record after rolling the use case back."""

    code: ErrorCode = ErrorCode.INTERNAL

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class BadUserInput(DomainError):
    code = ErrorCode.BAD_USER_INPUT


class ConditionUnmet(BadUserInput):
    """A stage's entry condition does not hold; `condition` names it."""

    def __init__(self, message: str, *, condition: str) -> None:
        super().__init__(message, field="stage")
        self.condition = condition


class NotFound(DomainError):
    code = ErrorCode.NOT_FOUND


class Conflict(DomainError):
    code = ErrorCode.CONFLICT


class Forbidden(DomainError):
    code = ErrorCode.FORBIDDEN


class Unauthenticated(DomainError):
    code = ErrorCode.UNAUTHENTICATED


class RateLimited(DomainError):
    code = ErrorCode.RATE_LIMITED

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many requests; retry after {retry_after} s")
        self.retry_after = retry_after


class StepUpRequired(DomainError):
    """The session must pass a second factor (stepUpStart / stepUpVerify) first."""

    code = ErrorCode.STEP_UP_REQUIRED


class TooManyAttempts(DomainError):
    """Too many wrong codes or challenges; start again later."""

    code = ErrorCode.RATE_LIMITED


class Internal(DomainError):
    """A defect, masked: the message only quotes the request id."""

    code = ErrorCode.INTERNAL


class ProtectedDataUnreadable(DomainError):
    """A stored envelope failed authentication (tampered, copied from another record or field,
    or under a key version this instance lacks). Reported as INTERNAL: it is not the caller's
    fault, and the message says nothing about the data."""

    code = ErrorCode.INTERNAL


class Unavailable(DomainError):
    """A store cannot be reached right now; nothing was written. Retry after `retry_after` s."""

    code = ErrorCode.UNAVAILABLE

    def __init__(self, retry_after: int, store: str = "a data store") -> None:
        super().__init__(f"{store} is unavailable; retry after {retry_after} s")
        self.retry_after = retry_after


class OutcomeUnknown(DomainError):
    """The connection failed while the write was committing: it may or may not have been
    written. Retrying with `idempotency_key` is safe; without a key, read before retrying."""

    code = ErrorCode.OUTCOME_UNKNOWN

    def __init__(self, retry_after: int, idempotency_key: str | None) -> None:
        if idempotency_key is None:
            message = ("the ledger failed while committing: the write may have been committed; "
                       "read before retrying")
        else:
            message = ("the ledger failed while committing: the write may have been committed; "
                       "retry with the same idempotencyKey")
        super().__init__(message)
        self.retry_after = retry_after
        self.idempotency_key = idempotency_key


def store_failure(error: BaseException, retry_after: int) -> DomainError | None:
    """The typed failure of a store outage (`Unavailable`, or `OutcomeUnknown` when it struck
    during a commit), or None when `error` is not one. The one translation of store exceptions,
    used at the request boundaries (GraphQL errors, the ASGI app)."""
    if isinstance(error, CommitInterrupted):
        return OutcomeUnknown(retry_after, error.idempotency_key)
    if isinstance(error, GraphUnavailable):
        return Unavailable(retry_after, "the relationship graph")
    if unreachable(error):
        return Unavailable(retry_after, "the ledger")
    return None
