"""Tag rule evaluation: a new rule in full, every rule hourly, accounts after their events."""

from __future__ import annotations

import uuid

import procrastinate

from jobs.runtime import current
from services import tag_rules

blueprint = procrastinate.Blueprint()


@blueprint.task(name="evaluate_rule", retry=procrastinate.RetryStrategy(max_attempts=3))
async def evaluate_rule(ruleId: str) -> None:
    runtime = current()
    async with runtime.uow("tags:evaluate_rule") as uow:
        await tag_rules.evaluate_rule(uow, uuid.UUID(ruleId), runtime.clock.now())


@blueprint.periodic(cron="7 * * * *")
@blueprint.task(name="evaluate_all", queueing_lock="tags:evaluate_all", lock="tags")
async def evaluate_all(timestamp: int) -> None:
    runtime = current()
    async with runtime.uow("tags:evaluate_all") as uow:
        await tag_rules.evaluate_all(uow, runtime.clock.now())


@blueprint.periodic(cron="* * * * *")
@blueprint.task(name="on_events", queueing_lock="tags:on_events", lock="tags")
async def on_events(timestamp: int = 0) -> None:
    runtime = current()
    async with runtime.uow("tags:on_events") as uow:
        await tag_rules.on_events(uow, runtime.clock.now())
