"""Which ledger exceptions mean "PostgreSQL cannot be reached" (as opposed to a defect)."""

from __future__ import annotations

import psycopg
from sqlalchemy import exc

_UNREACHABLE = (exc.OperationalError, exc.InterfaceError, exc.TimeoutError,
                psycopg.OperationalError, psycopg.InterfaceError, ConnectionError, TimeoutError)


def unreachable(error: BaseException) -> bool:
    """True for a refused or dropped connection, a connect timeout or an exhausted pool."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, _UNREACHABLE):
            return True
        seen.add(id(current))
        current = current.__cause__
    return False


def unreachable_errors() -> tuple[type[BaseException], ...]:
    """The exception types `unreachable` recognises, for an `except` clause."""
    return _UNREACHABLE
