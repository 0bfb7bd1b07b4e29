"""What every use case needs: the ledger, the graph, settings. Built once in the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from graph.engine import GraphEngine
from relational.uow import RequestMeta, UnitOfWork
from settings import Settings


@dataclass(frozen=True)
class Stores:
    sessionmaker: async_sessionmaker[AsyncSession]
    graph: GraphEngine
    settings: Settings
    on_commit: Callable[[], None] | None = None

    def uow(self, meta: RequestMeta) -> UnitOfWork:
        return UnitOfWork(self.sessionmaker, meta, on_commit=self.on_commit)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A short-lived read session; never shared between concurrently resolved fields."""
        async with self.sessionmaker() as session:
            yield session
