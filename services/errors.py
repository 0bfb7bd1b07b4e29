"""Expected failures of use cases. The schema layer maps `code` to `extensions.code`."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    RATE_LIMITED = "RATE_LIMITED"
    STEP_UP_REQUIRED = "STEP_UP_REQUIRED"
    INTERNAL = "INTERNAL"


class DomainError(Exception):
    """A failure the caller can act on; `field` names the offending input field."""

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
