"""The service desk's working-day calendar: business hours are 09:00–12:00 and 13:00–18:00
China time on working days — Monday to Friday, minus public holidays, plus the make-up
working days (调休) on weekends, both listed in the `calendar_days` table. Pure functions:
the caller hands in the days it loaded."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta, timezone

CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")  # no daylight saving
WINDOWS = ((time(9), time(12)), (time(13), time(18)))  # 8 business hours a day
Days = Mapping[date, bool]  # exceptions: day → working?


def is_working(day: date, exceptions: Days) -> bool:
    if day in exceptions:
        return exceptions[day]
    return day.weekday() < 5


def _windows(day: date) -> list[tuple[datetime, datetime]]:
    return [(datetime.combine(day, start, CHINA), datetime.combine(day, end, CHINA))
            for start, end in WINDOWS]


def add_business_time(start: datetime, duration: timedelta, exceptions: Days) -> datetime:
    """The instant `duration` of business time after `start` (UTC)."""
    left = duration
    day = start.astimezone(CHINA).date()
    for _ in range(3660):  # ten years of days: a bound, never reached by a real SLA
        if is_working(day, exceptions):
            for opens, closes in _windows(day):
                begin = max(opens, start.astimezone(CHINA))
                if begin >= closes:
                    continue
                if begin + left <= closes:
                    return (begin + left).astimezone(start.tzinfo)
                left -= closes - begin
        day += timedelta(days=1)
    raise ValueError("business time beyond the calendar's range")


def business_time_between(start: datetime, end: datetime, exceptions: Days) -> timedelta:
    """Business time from `start` to `end` (zero if `end` is not later)."""
    total = timedelta()
    day, last = start.astimezone(CHINA).date(), end.astimezone(CHINA).date()
    while day <= last:
        if is_working(day, exceptions):
            for opens, closes in _windows(day):
                begin, finish = max(opens, start), min(closes, end)
                if finish > begin:
                    total += finish - begin
        day += timedelta(days=1)
    return total
