"""Overdue warnings of user tasks (超时预警)."""

from __future__ import annotations

import uuid

import procrastinate

from jobs.runtime import current
from services import tasks

blueprint = procrastinate.Blueprint()


@blueprint.task(name="overdue", retry=procrastinate.RetryStrategy(max_attempts=5))
async def overdue(taskId: str) -> None:
    runtime = current()
    async with runtime.uow("tasks:overdue") as uow:
        await tasks.warn_overdue(uow, uuid.UUID(taskId), runtime.clock.now())
