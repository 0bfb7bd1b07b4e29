"""Readiness (`/readyz`) and the store gauges of `/metrics`: asked of the ledger when polled."""

from __future__ import annotations

from dataclasses import dataclass

from relational.ledger import Ledger
from relational.migrate import head
from relational.repositories import health as repo
from relational.repositories import outbox
from relational.repositories.jobs import counts as job_counts
from services import metrics

EXPECTED_REVISION = head()


@dataclass(frozen=True)
class LedgerState:
    revision: str | None
    backlog: int
    lag_seconds: float

    @property
    def migrations_current(self) -> bool:
        return self.revision == EXPECTED_REVISION


async def ledger_state(ledger: Ledger) -> LedgerState:
    """Schema revision and the projector's backlog: one short read session."""
    async with ledger.read() as session:
        revision = await repo.schema_revision(session)
        backlog, lag = await outbox.lag_seconds(session)
    return LedgerState(revision, backlog, lag)


async def sample(ledger: Ledger) -> LedgerState:
    """Set the store gauges of the metrics; returns what was read."""
    state = await ledger_state(ledger)
    in_use, waiting = repo.pool_usage(ledger.sessionmaker)
    metrics.POOL_IN_USE.set(in_use)
    metrics.POOL_WAITING.set(waiting)
    metrics.OUTBOX_BACKLOG.set(state.backlog)
    metrics.PROJECTOR_LAG.set(state.lag_seconds)
    async with ledger.read() as session:
        jobs = await job_counts(session)
    metrics.JOB_QUEUE.set(jobs.get("todo", 0) + jobs.get("doing", 0))
    metrics.JOB_FAILURES.set(jobs.get("failed", 0))
    return state
