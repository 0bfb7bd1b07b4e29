"""The ledger as use cases see it: short-lived read sessions and units of work. Built once by
the composition root; a use case is handed the ledger (or only its `read`), never an engine."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from relational.repositories.audit import Chain
from relational.uow import RequestMeta, UnitOfWork

# What a read-only use case receives: `async with read() as session: …`.
Reader = Callable[[], AbstractAsyncContextManager[AsyncSession]]


@dataclass(frozen=True)
class Ledger:
    sessionmaker: async_sessionmaker[AsyncSession] = field(repr=False)
    chain: Chain = field(repr=False)
    on_commit: Callable[[], None] | None = None  # wakes the graph projector

    def uow(self, meta: RequestMeta) -> UnitOfWork:
        """A unit of work: one transaction with its audit records and outbox events."""
        return UnitOfWork(self.sessionmaker, meta, on_commit=self.on_commit, chain=self.chain)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A short-lived read session; never shared between concurrently resolved fields."""
        async with self.sessionmaker() as session:
            yield session

    async def ping(self) -> None:
        """A cheap round trip (`SELECT 1`) for readiness checks; raises the driver's error if
        PostgreSQL cannot be reached."""
        async with self.sessionmaker() as session:
            await session.execute(text("SELECT 1"))
