"""Operations' durable jobs: the daily backup with retention (7 daily, 4 weekly) and the WAL
archive trimmed to what the kept backups need. A failed backup is a failed job (`crm jobs`,
`crm_jobs_failed` in /metrics) and is retried."""

from __future__ import annotations

from datetime import UTC, datetime

import procrastinate

from jobs.runtime import current
from services import backups

blueprint = procrastinate.Blueprint()

# 02:30 every night (the worker's clock, UTC): a backup of the ledger into BACKUP_ROOT.
DAILY_BACKUP_CRON = "30 2 * * *"


@blueprint.periodic(cron=DAILY_BACKUP_CRON)
@blueprint.task(name="backup_daily", queueing_lock="backup_daily",
                retry=procrastinate.RetryStrategy(max_attempts=3, wait=600))
async def backup_daily(timestamp: int) -> None:
    await backups.scheduled(current().stores, datetime.fromtimestamp(timestamp, UTC))
