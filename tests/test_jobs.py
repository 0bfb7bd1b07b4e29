"""The job scheduler against the real ledger: a deferred job commits or rolls back with its
write, survives the death of the worker that was running it, runs once with two workers, and
is retried after a failure; `crm jobs` lists pending and failed jobs."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import procrastinate
import pytest
from sqlalchemy import text

from composition import Runtime
from jobs import scheduler
from jobs.runtime import bound, current
from relational.uow import RequestMeta
from settings import Settings
from tests.conftest import empty

probe = procrastinate.Blueprint()
FAILURES: dict[str, int] = {}  # per key: how many times the probe still fails
STARTED: dict[str, asyncio.Event] = {}


@probe.task(name="record", retry=procrastinate.RetryStrategy(max_attempts=3))
async def record(key: str) -> None:
    """Writes one row per successful run, through the runtime's ledger."""
    if key in STARTED:
        STARTED[key].set()
    if FAILURES.get(key, 0) > 0:
        FAILURES[key] -= 1
        raise RuntimeError(f"probe {key} fails on purpose")
    async with current().stores.ledger.sessionmaker() as session:
        await session.execute(text("INSERT INTO job_probe (key) VALUES (:key)"), {"key": key})
        await session.commit()


@probe.task(name="always_fails")
async def always_fails(key: str) -> None:
    raise RuntimeError(f"probe {key} always fails")


scheduler.app.add_tasks_from(probe, namespace="probe")


@pytest.fixture
async def ledger(runtime: Runtime) -> AsyncIterator[Runtime]:
    async with runtime.stores.ledger.sessionmaker() as session:
        await empty(session)
        await session.execute(text("CREATE TABLE IF NOT EXISTS job_probe (key text NOT NULL)"))
        await session.execute(text("TRUNCATE job_probe"))
        await session.commit()
    FAILURES.clear()
    STARTED.clear()
    yield runtime


async def runs(runtime: Runtime) -> dict[str, int]:
    async with runtime.stores.read() as session:
        rows = await session.execute(text("SELECT key, count(*) FROM job_probe GROUP BY key"))
        return {key: int(count) for key, count in rows}


async def statuses(runtime: Runtime) -> dict[str, int]:
    """Jobs of the probe per status (a long-running worker also defers its periodic upkeep)."""
    async with runtime.stores.read() as session:
        rows = await session.execute(text(
            "SELECT status::text, count(*) FROM procrastinate_jobs "
            "WHERE task_name LIKE 'probe:%' GROUP BY status"))
        return {status: int(count) for status, count in rows}


async def defer(runtime: Runtime, *keys: str, task: str = "probe:record") -> None:
    async with runtime.stores.uow(RequestMeta(actor="test")) as uow:
        for key in keys:
            uow.defer(task, {"key": key})


async def test_a_job_commits_and_rolls_back_with_its_write(ledger: Runtime) -> None:
    await defer(ledger, "kept")
    with pytest.raises(RuntimeError, match="the write failed"):
        async with ledger.stores.uow(RequestMeta(actor="test")) as uow:
            uow.defer("probe:record", {"key": "dropped"})
            raise RuntimeError("the write failed")
    assert await statuses(ledger) == {"todo": 1}
    assert await scheduler.run_until_idle(ledger.jobs) == 1
    assert await runs(ledger) == {"kept": 1}
    assert await statuses(ledger) == {"succeeded": 1}


async def test_a_queueing_lock_keeps_one_waiting_job(ledger: Runtime) -> None:
    async with ledger.stores.uow(RequestMeta(actor="test")) as uow:
        uow.defer("probe:record", {"key": "first"}, queueing_lock="ticket-1")
        uow.defer("probe:record", {"key": "second"}, queueing_lock="ticket-1")
        uow.defer("probe:record", {"key": "other"}, queueing_lock="ticket-2")
    assert len(uow.deferred_job_ids) == 2
    await scheduler.run_until_idle(ledger.jobs)
    assert await runs(ledger) == {"first": 1, "other": 1}


async def test_a_job_scheduled_later_waits_for_its_time(ledger: Runtime) -> None:
    later = ledger.stores.clock.now() + timedelta(hours=2)
    async with ledger.stores.uow(RequestMeta(actor="test")) as uow:
        uow.defer("probe:record", {"key": "later"}, schedule_at=later)
    assert await scheduler.run_until_idle(ledger.jobs) == 0
    assert await scheduler.run_until_idle(ledger.jobs, now=later) == 1
    assert await runs(ledger) == {"later": 1}


async def test_a_job_survives_the_death_of_its_worker(ledger: Runtime) -> None:
    await defer(ledger, "orphan")
    async with ledger.stores.ledger.sessionmaker() as session:
        # What a worker does before it is killed: register, fetch the job (now `doing`).
        dead = await session.scalar(text(
            "INSERT INTO procrastinate_workers (last_heartbeat) "
            "VALUES (now() - interval '10 minutes') RETURNING id"))
        fetched = await session.scalar(text(
            "SELECT id FROM procrastinate_fetch_job_v2(ARRAY['default']::varchar[], :worker)"),
            {"worker": dead})
        await session.commit()
    assert fetched is not None
    assert await statuses(ledger) == {"doing": 1}
    assert await scheduler.run_until_idle(ledger.jobs) == 0  # nothing to fetch: it is `doing`
    STARTED["orphan"] = asyncio.Event()
    async with scheduler.worker(ledger.jobs, concurrency=1, name="restarted"):
        await asyncio.wait_for(STARTED["orphan"].wait(), timeout=20)
    await scheduler.run_until_idle(ledger.jobs)
    assert await runs(ledger) == {"orphan": 1}
    assert await statuses(ledger) == {"succeeded": 1}


async def test_a_job_waits_in_the_ledger_while_no_worker_runs(ledger: Runtime) -> None:
    """Stopping a worker and starting another: what was queued meanwhile runs, once."""
    STARTED["before"] = asyncio.Event()
    async with scheduler.worker(ledger.jobs, concurrency=1, name="first"):
        await defer(ledger, "before")
        await asyncio.wait_for(STARTED["before"].wait(), timeout=20)
    await defer(ledger, "between")
    assert (await statuses(ledger)).get("todo") == 1
    STARTED["between"] = asyncio.Event()
    async with scheduler.worker(ledger.jobs, concurrency=1, name="second"):
        await asyncio.wait_for(STARTED["between"].wait(), timeout=20)
    await scheduler.run_until_idle(ledger.jobs)
    assert await runs(ledger) == {"before": 1, "between": 1}


async def test_two_workers_run_each_job_once(ledger: Runtime) -> None:
    keys = [f"job-{number}" for number in range(30)]
    await defer(ledger, *keys)
    with bound(ledger.jobs):
        await asyncio.gather(*(
            scheduler.app.run_worker_async(wait=False, install_signal_handlers=False,
                                           listen_notify=False, concurrency=3, name=name)
            for name in ("one", "two")))
    assert await runs(ledger) == dict.fromkeys(keys, 1)
    assert await statuses(ledger) == {"succeeded": 30}


async def test_a_failing_job_is_retried(ledger: Runtime) -> None:
    FAILURES["flaky"] = 2
    await defer(ledger, "flaky")
    await scheduler.run_until_idle(ledger.jobs)
    assert await runs(ledger) == {"flaky": 1}
    async with ledger.stores.read() as session:
        attempts = await session.scalar(text("SELECT attempts FROM procrastinate_jobs"))
    assert attempts == 3


async def test_crm_jobs_lists_pending_and_failed_jobs(ledger: Runtime, settings: Settings,
                                                      tmp_path: Path) -> None:
    await defer(ledger, "broken", task="probe:always_fails")
    await scheduler.run_until_idle(ledger.jobs)
    await defer(ledger, "waiting")
    env = {**os.environ, "DATABASE_URL": str(settings.database_url),
           "GRAPH_URL": str(settings.graph_url), "DATA_DIR": str(tmp_path)}
    shown = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "cli", "jobs"], env=env, capture_output=True,
        text=True, timeout=120, check=True)
    lines = shown.stdout.splitlines()
    assert lines[0] == "jobs: 1 failed, 1 todo"
    assert lines[1] == "pending:"
    assert lines[2].split()[1:4] == ["probe:record", "todo", "due"]
    assert '{"key": "waiting"}' in lines[2]
    assert lines[3] == "failed:"
    assert lines[4].split()[1:3] == ["probe:always_fails", "failed"]

