"""Durable jobs in the ledger (procrastinate's tables, migration 0010): deferring one inside
the caller's transaction, and what `crm jobs` lists."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

DEFAULT_QUEUE = "default"
# procrastinate's unique index: one waiting job per queueing lock.
_QUEUEING_LOCK_INDEX = "procrastinate_jobs_queueing_lock_idx_v1"

# procrastinate's own entry point (`procrastinate_defer_jobs_v1`), so its triggers record the
# `deferred` event and NOTIFY the workers when the transaction commits.
_DEFER = text(
    "SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[CAST(ROW(:queue, :task, 0, NULL, :lock, "
    "CAST(:args AS jsonb), :at) AS procrastinate_job_to_defer_v1)])) AS id")


@dataclass(frozen=True)
class PendingJob:
    """A job to write when the unit of work commits."""

    task_name: str
    args: dict[str, Any]
    schedule_at: datetime | None = None
    queueing_lock: str | None = None
    queue: str = DEFAULT_QUEUE


async def defer(session: AsyncSession, job: PendingJob) -> int | None:
    """Insert `job` in the session's transaction; its id, or None when a job under the same
    queueing lock is already waiting (that one is kept, the transaction goes on)."""
    params = {"queue": job.queue, "task": job.task_name, "lock": job.queueing_lock,
              "args": json.dumps(job.args), "at": job.schedule_at}
    if job.queueing_lock is None:
        return int((await session.execute(_DEFER, params)).scalar_one())
    try:
        async with session.begin_nested():
            return int((await session.execute(_DEFER, params)).scalar_one())
    except IntegrityError as error:
        if _QUEUEING_LOCK_INDEX in str(error.orig):
            return None
        raise


@dataclass(frozen=True)
class JobRow:
    id: int
    task_name: str
    status: str
    queue: str
    attempts: int
    scheduled_at: datetime | None
    queueing_lock: str | None
    args: dict[str, Any]
    last_event_at: datetime | None


_LISTED = text(
    "SELECT j.id, j.task_name, j.status::text AS status, j.queue_name, j.attempts, "
    "j.scheduled_at, j.queueing_lock, j.args, "
    "(SELECT max(e.at) FROM procrastinate_events e WHERE e.job_id = j.id) AS last_event_at "
    "FROM procrastinate_jobs j WHERE j.status::text = ANY(:statuses) "
    "ORDER BY j.status, coalesce(j.scheduled_at, '-infinity'::timestamptz), j.id LIMIT :limit")


async def listed(session: AsyncSession, statuses: tuple[str, ...], limit: int) -> list[JobRow]:
    """Jobs in `statuses` (todo, doing, failed, …), waiting ones in the order they are due."""
    rows = await session.execute(_LISTED, {"statuses": list(statuses), "limit": limit})
    return [JobRow(row.id, row.task_name, row.status, row.queue_name, row.attempts,
                   row.scheduled_at, row.queueing_lock, row.args, row.last_event_at)
            for row in rows]


async def counts(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(text(
        "SELECT status::text AS status, count(*) AS n FROM procrastinate_jobs GROUP BY status"))
    return {row.status: int(row.n) for row in rows}


async def release_due(session: AsyncSession, until: datetime) -> int:
    """Make the waiting jobs due by `until` (a clock ahead of the database's) due now: the
    workers fetch by the database's clock. Used where time is driven (tests, the bench)."""
    result = await session.execute(text(
        "UPDATE procrastinate_jobs SET scheduled_at = now() "
        "WHERE status = 'todo' AND scheduled_at > now() AND scheduled_at <= :until"),
        {"until": until})
    return int(result.rowcount)  # type: ignore[attr-defined]
