"""The scheduler's own upkeep: jobs of a worker that died mid-run go back to the queue, and
finished jobs are cleared after a while."""

from __future__ import annotations

import logging

import procrastinate

log = logging.getLogger("crm.jobs")

blueprint = procrastinate.Blueprint()

# A worker refreshes its heartbeat every 10 s; one silent this long is dead.
STALLED_AFTER_SECONDS = 60
KEEP_FINISHED_HOURS = 24 * 7


async def recover_stalled(app: procrastinate.App) -> int:
    """Put the jobs of dead workers (no heartbeat for STALLED_AFTER_SECONDS, or pruned) back
    to `todo`: an acknowledged job is never lost with the process that was running it."""
    stalled = list(await app.job_manager.get_stalled_jobs(
        seconds_since_heartbeat=STALLED_AFTER_SECONDS))
    for job in stalled:
        await app.job_manager.retry_job(job)
    if stalled:
        log.warning("re-queued %d job(s) of dead workers: %s", len(stalled),
                    ", ".join(f"{job.task_name}#{job.id}" for job in stalled))
    return len(stalled)


@blueprint.periodic(cron="* * * * *")
@blueprint.task(name="recover_stalled", pass_context=True, queueing_lock="recover_stalled")
async def recover_stalled_jobs(context: procrastinate.JobContext, timestamp: int) -> None:
    await recover_stalled(context.app)


@blueprint.periodic(cron="17 3 * * *")
@blueprint.task(name="remove_old_jobs", pass_context=True, queueing_lock="remove_old_jobs")
async def remove_old_jobs(context: procrastinate.JobContext, timestamp: int) -> None:
    # Failed jobs stay until someone looks at them (`crm jobs`).
    await context.app.job_manager.delete_old_jobs(
        nb_hours=KEEP_FINISHED_HOURS, include_failed=False, include_cancelled=True,
        include_aborted=True)
