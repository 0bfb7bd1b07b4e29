"""Delivery of notifications' e-mail and SMS copies after their write commits."""

from __future__ import annotations

import uuid

import procrastinate

from jobs.runtime import current
from services import notifications

blueprint = procrastinate.Blueprint()


@blueprint.task(name="deliver", retry=procrastinate.RetryStrategy(max_attempts=10,
                                                                  exponential_wait=2))
async def deliver(notificationId: str) -> None:
    runtime = current()
    await notifications.deliver(runtime.stores.read, runtime.settings, runtime.stores.cipher,
                                uuid.UUID(notificationId))
