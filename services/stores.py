"""What every use case needs: the ledger, the graph, settings. Built once in the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from auth import audit_chain
from auth.crypto import KeyRing
from auth.keys import load_or_create
from graph.engine import GraphEngine, connect
from relational.database import make_engine, make_sessionmaker
from relational.repositories.audit import Chain
from relational.uow import RequestMeta, UnitOfWork
from services.field_cipher import FieldCipher
from settings import Settings

# The audit log's SM3 hash chain, handed to every unit of work (relational/ cannot import auth/).
AUDIT_CHAIN = Chain(genesis=audit_chain.GENESIS, link=audit_chain.link)


@dataclass(frozen=True)
class Stores:
    sessionmaker: async_sessionmaker[AsyncSession]
    graph: GraphEngine
    settings: Settings
    on_commit: Callable[[], None] | None = None
    # Keyword-only: the SM4 key ring and the blind-index key (never in a repr).
    keyring: KeyRing = field(kw_only=True)
    blind_key: bytes = field(kw_only=True, repr=False)

    @property
    def cipher(self) -> FieldCipher:
        """Encryption of protected fields; services use it, repositories see only its output."""
        return FieldCipher(self.keyring, self.blind_key)

    def uow(self, meta: RequestMeta) -> UnitOfWork:
        return UnitOfWork(self.sessionmaker, meta, on_commit=self.on_commit, chain=AUDIT_CHAIN)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A short-lived read session; never shared between concurrently resolved fields."""
        async with self.sessionmaker() as session:
            yield session


@asynccontextmanager
async def open_stores(settings: Settings, *, pool_size: int) -> AsyncIterator[Stores]:
    """Connect to the stores named in `settings` (the app's lifespan, the CLI, tests, the
    bench); closed again on exit. The keys come from settings or `$DATA_DIR/keys.env`."""
    if not settings.database_url or not settings.graph_url:
        raise RuntimeError("DATABASE_URL and GRAPH_URL must be set")
    keyring, blind_key = load_or_create(settings)
    engine = make_engine(settings.database_url, pool_size=pool_size)
    graph = connect(settings.graph_url, settings.graph_name)
    try:
        yield Stores(make_sessionmaker(engine), graph, settings, keyring=keyring,
                     blind_key=blind_key)
    finally:
        await graph.close()
        await engine.dispose()
