"""Running the scheduler's jobs from a test: `await run_jobs_until_idle(runtime)` (or the
`run_jobs` fixture of conftest) runs every queued job to completion in the test's process and
returns how many finished. `now=` (usually `clock.advance(...)`) makes the jobs scheduled up
to then due as well — timers, escalations, reminders — without sleeping. Periodic tasks are
not deferred by it: `await defer_periodic(since=..., until=..., prefix="pipeline:")` defers
their cron ticks in between as a worker's periodic deferrer would."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from typing import Protocol

from procrastinate import periodic

from composition import Runtime
from jobs import scheduler


async def run_jobs_until_idle(runtime: Runtime, *, now: datetime | None = None) -> int:
    """Run the queued jobs (and those due by `now`) until none is left; jobs they defer run
    too. Returns the number of jobs that finished (succeeded or failed)."""
    return await scheduler.run_until_idle(runtime.jobs, now=now)


async def defer_periodic(*, since: datetime, until: datetime,
                         prefix: str) -> list[tuple[str, datetime]]:
    """Defer, through procrastinate's own periodic deferrer, every cron tick after `since` and
    up to `until` of the periodic tasks whose name starts with `prefix`. As in a worker, a
    tick deferred before is not deferred again, and one whose task already waits under its
    queueing lock is skipped. Returns the ticks as (task name, tick time), by time."""
    registry = periodic.PeriodicRegistry()  # type: ignore[no-untyped-call]
    registry.periodic_tasks = {key: found for key, found in
                               scheduler.app.periodic_registry.periodic_tasks.items()
                               if key[0].startswith(prefix)}
    deferrer = periodic.PeriodicDeferrer(registry)
    deferrer.last_defers = dict.fromkeys(registry.periodic_tasks, int(since.timestamp()))
    ticks = list(deferrer.get_previous_tasks(at=until.timestamp()))
    await deferrer.defer_jobs(ticks)
    return sorted(((found.task.name, datetime.fromtimestamp(at, since.tzinfo))
                   for found, at in ticks), key=lambda tick: (tick[1], tick[0]))


class RunJobs(Protocol):
    def __call__(self, *, now: datetime | None = None) -> Awaitable[int]: ...
