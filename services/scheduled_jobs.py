"""What the scheduler holds, for operators (`crm jobs`) and for driving time in tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from relational.ledger import Ledger, Reader
from relational.repositories import jobs as repo
from relational.repositories.jobs import JobRow

__all__ = ["JobRow", "Overview", "finished", "overview", "release_due"]

PENDING = ("todo", "doing")
FAILED = ("failed",)


@dataclass(frozen=True)
class Overview:
    counts: dict[str, int]
    pending: list[JobRow]
    failed: list[JobRow]


async def overview(read: Reader, *, limit: int = 50) -> Overview:
    """Job counts per status, and the first `limit` pending (running first, then by due time)
    and failed jobs."""
    async with read() as session:
        return Overview(await repo.counts(session), await repo.listed(session, PENDING, limit),
                        await repo.listed(session, FAILED, limit))


async def finished(read: Reader) -> int:
    async with read() as session:
        counts = await repo.counts(session)
    return counts.get("succeeded", 0) + counts.get("failed", 0)


async def release_due(ledger: Ledger, until: datetime) -> int:
    """Jobs scheduled up to `until` become due now (the workers go by the database's clock)."""
    async with ledger.sessionmaker() as session:
        released = await repo.release_due(session, until)
        await session.commit()
    return released
