"""Expected failures of use cases. The schema layer maps `code` to `extensions.code`."""

from __future__ import annotations

from enum import StrEnum

from relational.uow import AuditedError


class ErrorCode(StrEnum):
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    RATE_LIMITED = "RATE_LIMITED"
    STEP_UP_REQUIRED = "STEP_UP_REQUIRED"
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


class ProtectedDataUnreadable(DomainError):
    """A stored envelope failed authentication (tampered, copied from another record or field,
    or under a key version this instance lacks). Reported as INTERNAL: it is not the caller's
    fault, and the message says nothing about the data."""

    code = ErrorCode.INTERNAL
