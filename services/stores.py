"""The clients a use case may be handed, built by the composition root (`composition.py`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from auth.field_cipher import FieldCipher
from graph.engine import GraphEngine
from relational.repositories.audit import Chain
from relational.uow import RequestMeta, UnitOfWork
from settings import Settings


@dataclass(frozen=True)
class Stores:
    sessionmaker: async_sessionmaker[AsyncSession]
    graph: GraphEngine
    settings: Settings
    chain: Chain = field(kw_only=True, repr=False)
    # Encryption of protected fields; services use it, repositories see only its output.
    cipher: FieldCipher = field(kw_only=True, repr=False)
    on_commit: Callable[[], None] | None = field(default=None, kw_only=True)

    def uow(self, meta: RequestMeta) -> UnitOfWork:
        return UnitOfWork(self.sessionmaker, meta, on_commit=self.on_commit, chain=self.chain)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A short-lived read session; never shared between concurrently resolved fields."""
        async with self.sessionmaker() as session:
            yield session
