"""Customer-care reminders (follow-ups, contract anniversaries and renewals, contacts'
important dates), daily; idempotent, so a second run of a day adds nothing."""

from __future__ import annotations

import procrastinate

from jobs.runtime import current
from services import care

blueprint = procrastinate.Blueprint()

# 00:30 UTC = 08:30 China time: the day's reminders are in the inbox by the start of work.
REMIND_CRON = "30 0 * * *"


@blueprint.periodic(cron=REMIND_CRON)
@blueprint.task(name="remind", queueing_lock="care:remind", lock="care",
                retry=procrastinate.RetryStrategy(max_attempts=3, wait=300))
async def remind(timestamp: int = 0) -> None:
    runtime = current()
    async with runtime.uow("care:remind") as uow:
        await care.remind(uow, runtime.settings, runtime.clock.now())
