"""Engine and session factory; created once in the app lifespan."""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def make_engine(
    url: str, *, pool_size: int = 10, connect_timeout: int = 3, pool_timeout: float = 3.0
) -> AsyncEngine:
    """Waits on a PostgreSQL that is down are bounded: connecting gives up after
    `connect_timeout` s, waiting for a pooled connection after `pool_timeout` s."""
    from relational.repositories.health import CountingPool

    return create_async_engine(
        url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True,
        poolclass=CountingPool,
        pool_timeout=pool_timeout, connect_args={"connect_timeout": connect_timeout},
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def libpq_conninfo(url: str) -> str:
    """The libpq form (`postgresql://…`) of a SQLAlchemy URL, for clients that are not
    SQLAlchemy (the job scheduler, the outbox listener)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
