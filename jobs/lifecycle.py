"""Lifecycle rules (daily) and value tiers (after an account changes, and daily)."""

from __future__ import annotations

import uuid

import procrastinate

from jobs.runtime import current
from services import lifecycle

blueprint = procrastinate.Blueprint()


@blueprint.periodic(cron="30 2 * * *")
@blueprint.task(name="check", queueing_lock="lifecycle:check", lock="lifecycle")
async def check(timestamp: int) -> None:
    runtime = current()
    async with runtime.uow("lifecycle:check") as uow:
        await lifecycle.apply_rules(uow, runtime.settings, runtime.clock.now())
        await lifecycle.recompute_tiers(uow, runtime.settings, runtime.clock.now())


@blueprint.task(name="value_tier", retry=procrastinate.RetryStrategy(max_attempts=3))
async def value_tier(accountId: str) -> None:
    runtime = current()
    async with runtime.uow("lifecycle:value_tier") as uow:
        await lifecycle.recompute_tiers(uow, runtime.settings, runtime.clock.now(),
                                        [uuid.UUID(accountId)])
