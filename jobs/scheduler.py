"""The scheduler: one procrastinate app with every domain's blueprint, opened on the ledger,
and the ways to run its workers (in-process under `crm serve`, alone under `crm worker`, to
idle in tests and the bench).

Task names are `<domain>:<task>` (the blueprint's namespace): `uow.defer("tickets:sla_check",
{...})`. A new domain adds its blueprint to BLUEPRINTS below.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import datetime

import procrastinate
from procrastinate import periodic
from procrastinate.psycopg_connector import PsycopgConnector
from psycopg_pool import AsyncConnectionPool

from jobs import (
    care,
    lifecycle,
    maintenance,
    notifications,
    operations,
    pipeline,
    tags,
    tasks,
    tickets,
    webhooks,
)
from jobs.runtime import JobRuntime, bound
from relational.database import libpq_conninfo
from services import scheduled_jobs

log = logging.getLogger("crm.jobs")

BLUEPRINTS: dict[str, procrastinate.Blueprint] = {
    "care": care.blueprint,
    "lifecycle": lifecycle.blueprint,
    "maintenance": maintenance.blueprint,
    "notifications": notifications.blueprint,
    "tags": tags.blueprint,
    "tasks": tasks.blueprint,
    "tickets": tickets.blueprint,
    "webhooks": webhooks.blueprint,
    "operations": operations.blueprint,
    "pipeline": pipeline.blueprint,
}

# One app per process (procrastinate's tasks point back to the app they were added to); its
# connector gets the pool of whichever `opened` block comes first.
app = procrastinate.App(connector=PsycopgConnector())
for _namespace, _blueprint in BLUEPRINTS.items():
    app.add_tasks_from(_blueprint, namespace=_namespace)


class _Opened:
    count = 0
    conninfo: str | None = None
    pool: AsyncConnectionPool | None = None


@contextlib.asynccontextmanager
async def opened(database_url: str, *, pool_size: int = 4) -> AsyncIterator[procrastinate.App]:
    """The app connected to the ledger at `database_url` for as long as the block runs.
    Blocks may nest (tests open several runtimes on one ledger): the first opens the pool,
    the last closes it."""
    conninfo = libpq_conninfo(database_url)
    if _Opened.count and _Opened.conninfo != conninfo:
        raise RuntimeError("the scheduler is already open on another database")
    if not _Opened.count:
        pool = AsyncConnectionPool(conninfo, min_size=1, max_size=pool_size, open=False,
                                   check=AsyncConnectionPool.check_connection)
        await pool.open(wait=True)
        await app.open_async(pool)
        _Opened.pool, _Opened.conninfo = pool, conninfo
    _Opened.count += 1
    try:
        yield app
    finally:
        _Opened.count -= 1
        if not _Opened.count and _Opened.pool is not None:
            pool, _Opened.pool, _Opened.conninfo = _Opened.pool, None, None
            # The connector does not close a pool handed to it: forget it, then close it.
            app.connector._async_pool = None  # type: ignore[attr-defined]
            await pool.close()


async def serve(runtime: JobRuntime, *, concurrency: int, name: str) -> None:
    """Run a worker until cancelled (or, with its own signal handlers, SIGINT/SIGTERM):
    first the jobs of dead workers go back to the queue, then every queue is served and the
    periodic tasks are deferred (once across all instances: the database keeps one job per
    cron tick)."""
    with bound(runtime):
        await maintenance.recover_stalled(app)
        # Cancelled, it stops fetching and waits for its running jobs (see `worker`).
        await app.run_worker_async(concurrency=concurrency, name=name, wait=True,
                                   install_signal_handlers=False)


@contextlib.asynccontextmanager
async def worker(runtime: JobRuntime, *, concurrency: int,
                 name: str = "crm") -> AsyncIterator[asyncio.Task[None]]:
    """A worker in this process for as long as the block runs; leaving it stops the worker
    cleanly: it takes no new job and running jobs get `WORKER_SHUTDOWN_SECONDS` to finish.
    One still running after that stays `doing` under a worker whose heartbeat has stopped, and
    the next worker to start puts it back in the queue (`maintenance.recover_stalled`)."""
    task = asyncio.create_task(serve(runtime, concurrency=concurrency, name=name),
                               name="jobs-worker")
    try:
        yield task
    finally:
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=runtime.settings.worker_shutdown_seconds)
        if not done:
            log.warning("jobs still running at shutdown are left to the next worker")
        elif not task.cancelled() and task.exception() is not None:
            log.error("the job worker had stopped", exc_info=task.exception())


async def run_until_idle(runtime: JobRuntime, *, now: datetime | None = None) -> int:
    """Run queued jobs to completion, then return how many finished (succeeded or failed).
    With `now` (the runtime clock's time, ahead of the database's), jobs scheduled up to then
    are due too, also those the finished jobs defer. Periodic tasks are not deferred here
    (a test or the bench runs what it queued). For tests and the bench."""
    done_before = await scheduled_jobs.finished(runtime.stores.read)
    if now is not None:
        await scheduled_jobs.release_due(runtime.stores.ledger, now)
    registry, app.periodic_registry = app.periodic_registry, periodic.PeriodicRegistry()  # type: ignore[no-untyped-call]
    try:
        while True:
            with bound(runtime):
                await app.run_worker_async(wait=False, install_signal_handlers=False,
                                           listen_notify=False, concurrency=1, name="idle")
            if now is None or not await scheduled_jobs.release_due(runtime.stores.ledger, now):
                break
    finally:
        app.periodic_registry = registry
    return await scheduled_jobs.finished(runtime.stores.read) - done_before
