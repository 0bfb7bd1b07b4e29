"""Service desk timers: SLA deadlines and the second escalation step."""

from __future__ import annotations

import uuid

import procrastinate

from jobs.runtime import current
from services import ticket_sla

blueprint = procrastinate.Blueprint()
RETRY = procrastinate.RetryStrategy(max_attempts=5, exponential_wait=2)


@blueprint.task(name="sla_check", retry=RETRY)
async def sla_check(ticketId: str, kind: str) -> None:
    runtime = current()
    async with runtime.uow("tickets:sla_check") as uow:
        await ticket_sla.check(uow, uuid.UUID(ticketId), kind, runtime.clock.now())


@blueprint.task(name="escalate", retry=RETRY)
async def escalate(ticketId: str, level: int) -> None:
    runtime = current()
    async with runtime.uow("tickets:escalate") as uow:
        await ticket_sla.escalate_further(uow, uuid.UUID(ticketId), level, runtime.clock.now())
