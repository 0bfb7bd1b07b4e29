"""The pipeline's periodic jobs on the scheduler: the win model retrained every night and the
forecast snapshot taken once a week, driven by the test clock and procrastinate's periodic
deferrer (tests/jobs_helpers.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import text

from composition import Runtime
from jobs import scheduler
from relational.uow import RequestMeta
from services.clock import ShiftedClock
from tests.conftest import Api
from tests.jobs_helpers import defer_periodic, run_jobs_until_idle

MONDAY = datetime(2026, 12, 7, tzinfo=UTC)
TRAIN, SNAPSHOT = "pipeline:win_train", "pipeline:forecast_snapshot"


@pytest.fixture
async def at_monday(api: Api, clock: ShiftedClock) -> AsyncIterator[ShiftedClock]:
    """The test clock set a little after the Monday morning jobs' ticks."""
    clock.offset = MONDAY + timedelta(hours=2) - datetime.now(UTC)
    yield clock
    clock.reset()


def at(moment: datetime, clock: ShiftedClock) -> datetime:
    clock.offset = moment - datetime.now(UTC)
    return clock.now()


async def rows(api: Api, sql: str) -> list[tuple[object, ...]]:
    async with api.stores.read() as session:
        return [tuple(row) for row in await session.execute(text(sql))]


async def snapshots(api: Api) -> list[tuple[object, ...]]:
    return await rows(api, "SELECT week_start, currency FROM forecast_snapshots "
                           "ORDER BY week_start")


async def models(api: Api) -> list[tuple[object, ...]]:
    return await rows(api, "SELECT version, kind, samples FROM win_models ORDER BY version")


def test_the_pipeline_jobs_are_scheduled() -> None:
    crons = {found.task.name: found.cron
             for found in scheduler.app.periodic_registry.periodic_tasks.values()}
    assert crons[TRAIN] == "0 1 * * *"
    assert crons[SNAPSHOT] == "30 1 * * 1"


async def test_monday_trains_then_snapshots_once_for_the_week(
        api: Api, runtime: Runtime, at_monday: ShiftedClock) -> None:
    ticks = await defer_periodic(since=MONDAY, until=at_monday.now(),
                                 prefix="pipeline:")
    assert ticks == [(TRAIN, MONDAY + timedelta(hours=1)),
                     (SNAPSHOT, MONDAY + timedelta(hours=1, minutes=30))]
    assert await run_jobs_until_idle(runtime, now=at_monday.now()) == 2
    assert await snapshots(api) == [(date(2026, 12, 7), "CNY")]
    # Too few closed deals: the stored version is the rule-based score.
    assert await models(api) == [(1, "RULES", 0)]
    assert await rows(api, "SELECT actor, operation FROM audit_log WHERE operation IN "
                           "('forecast.snapshot', 'winModel.train') ORDER BY id") == [
        ("system:job:pipeline:win_train", "winModel.train"),
        ("system:job:pipeline:forecast_snapshot", "forecast.snapshot")]

    # The same tick again (a second instance's deferrer) is not deferred twice.
    assert await defer_periodic(since=MONDAY, until=at_monday.now(),
                                prefix="pipeline:") == ticks
    assert await run_jobs_until_idle(runtime, now=at_monday.now()) == 0
    # A snapshot job run again later in the week (by hand, a retry) leaves the week's alone.
    thursday = at(MONDAY + timedelta(days=3, hours=2), at_monday)
    async with api.stores.uow(RequestMeta(actor="test")) as uow:
        uow.defer(SNAPSHOT, {"timestamp": int(thursday.timestamp())})
    ticks = await defer_periodic(since=MONDAY + timedelta(hours=2), until=thursday,
                                 prefix="pipeline:")
    # Three nights without a worker: one training waits (the queueing lock), not three.
    assert ticks == [(TRAIN, MONDAY + timedelta(days=day, hours=1)) for day in (1, 2, 3)]
    assert await run_jobs_until_idle(runtime, now=thursday) == 2
    assert await snapshots(api) == [(date(2026, 12, 7), "CNY")]
    assert await models(api) == [(1, "RULES", 0), (2, "RULES", 0)]
    assert await rows(api, "SELECT count(*) FROM audit_log "
                           "WHERE operation = 'forecast.snapshot'") == [(1,)]

    next_monday = at(MONDAY + timedelta(days=7, hours=2), at_monday)
    ticks = await defer_periodic(since=thursday, until=next_monday, prefix="pipeline:")
    assert [name for name, _ in ticks] == [TRAIN] * 4 + [SNAPSHOT]
    assert await run_jobs_until_idle(runtime, now=next_monday) == 2
    assert await snapshots(api) == [(date(2026, 12, 7), "CNY"), (date(2026, 12, 14), "CNY")]
    assert [version for version, _, _ in await models(api)] == [1, 2, 3]
