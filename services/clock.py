"""The time use cases and jobs read: one clock per process, handed out with the stores, so
SLA timers, reminders and lifecycle rules can be driven in tests without sleeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


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
