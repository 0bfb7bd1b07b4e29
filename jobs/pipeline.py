"""The sales pipeline's schedule: the win model retrained every night, and the week's forecast
snapshot taken on Monday morning, after that night's training (the snapshot's model-based
figures use the newest model's stage win rates). Both are idempotent per tick: a snapshot is
stored once per week and never changes; a retrained model is a new version."""

from __future__ import annotations

import procrastinate

from jobs.runtime import current
from services import forecasting, win

blueprint = procrastinate.Blueprint()

# UTC, the worker's clock: 01:00 nightly, Mondays at 01:30 (09:00/09:30 in China). Clear of
# the 02:30 backup and lifecycle check.
TRAIN_CRON = "0 1 * * *"
SNAPSHOT_CRON = "30 1 * * 1"
RETRY = procrastinate.RetryStrategy(max_attempts=3, wait=300)


@blueprint.periodic(cron=TRAIN_CRON)
@blueprint.task(name="win_train", queueing_lock="pipeline:win_train", lock="pipeline:win",
                retry=RETRY)
async def win_train(timestamp: int) -> None:
    runtime = current()
    async with runtime.uow("pipeline:win_train") as uow:
        # services.win.train fits the model in a worker thread: the worker's loop stays free.
        await win.train(uow, minimum=runtime.settings.min_closed_deals_to_train,
                        now=runtime.clock.now())


@blueprint.periodic(cron=SNAPSHOT_CRON)
@blueprint.task(name="forecast_snapshot", queueing_lock="pipeline:forecast_snapshot",
                lock="pipeline:win", retry=RETRY)
async def forecast_snapshot(timestamp: int) -> None:
    runtime = current()
    async with runtime.uow("pipeline:forecast_snapshot") as uow:
        # The week of the day it runs on: a snapshot records the forecast as it stood then.
        await forecasting.take_snapshot(uow, today=runtime.clock.now().date())
