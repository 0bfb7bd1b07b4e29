"""What readiness and the metrics ask the ledger: its schema revision and the connection pool."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.pool import AsyncAdaptedQueuePool


async def schema_revision(session: AsyncSession) -> str | None:
    found = await session.scalar(text("SELECT version_num FROM alembic_version LIMIT 1"))
    return str(found) if found is not None else None


class CountingPool(AsyncAdaptedQueuePool):
    """The app's pool, counting who is waiting for (or taking) a connection right now."""

    waiting = 0

    def _do_get(self) -> Any:
        self.waiting += 1
        try:
            return super()._do_get()
        finally:
            self.waiting -= 1


def pool_usage(sessionmaker: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    """Connections checked out, and callers waiting for one."""
    bind = sessionmaker.kw.get("bind")
    pool = getattr(getattr(bind, "sync_engine", None), "pool", None)
    if pool is None:
        return 0, 0
    checked_out = getattr(pool, "checkedout", None)
    return (int(checked_out()) if callable(checked_out) else 0,
            int(getattr(pool, "waiting", 0)))
