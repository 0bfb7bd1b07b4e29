"""The time use cases and jobs read: one clock per process, handed out with the stores, so
SLA timers, reminders and lifecycle rules can be driven in tests without sleeping; and
today's date (UTC) for use cases that default a validity period or derive a strength (the
adapters pass it in, so tests and the bench can fix it)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta


def today() -> date:
    return datetime.now(UTC).date()


class Clock:
    """Wall-clock time, UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ShiftedClock(Clock):
    """Wall-clock time moved by an offset that tests (and the bench) set: time runs on, but
    from wherever they put it."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, by: timedelta) -> datetime:
        self.offset += by
        return self.now()

    def reset(self) -> None:
        self.offset = timedelta()
