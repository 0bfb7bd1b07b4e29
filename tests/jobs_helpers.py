"""Running the scheduler's jobs from a test: `await run_jobs_until_idle(runtime)` (or the
`run_jobs` fixture of conftest) runs every queued job to completion in the test's process and
returns how many finished. `now=` (usually `clock.advance(...)`) makes the jobs scheduled up
to then due as well — timers, escalations, reminders — without sleeping."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from typing import Protocol

from composition import Runtime
from jobs import scheduler


async def run_jobs_until_idle(runtime: Runtime, *, now: datetime | None = None) -> int:
    """Run the queued jobs (and those due by `now`) until none is left; jobs they defer run
    too. Returns the number of jobs that finished (succeeded or failed)."""
    return await scheduler.run_until_idle(runtime.jobs, now=now)


class RunJobs(Protocol):
    def __call__(self, *, now: datetime | None = None) -> Awaitable[int]: ...
