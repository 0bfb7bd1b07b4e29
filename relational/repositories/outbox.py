"""Outbox reads and marks for the projector; one projector at a time across app instances."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from relational.models import Account, AccountEdge, Base, Contact, OutboxEvent, Relationship

PROJECTOR_LOCK = 0x70726F6A  # "proj"
M = TypeVar("M", bound=Base)


async def try_lock_projector(session: AsyncSession) -> bool:
    locked = await session.scalar(
        text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": PROJECTOR_LOCK}
    )
    return bool(locked)


async def lock_projector(session: AsyncSession) -> None:
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PROJECTOR_LOCK})


async def pending(session: AsyncSession, limit: int) -> list[OutboxEvent]:
    statement = (
        select(OutboxEvent).where(OutboxEvent.projected_at.is_(None))
        .order_by(OutboxEvent.id).limit(limit)
    )
    return list((await session.scalars(statement)).all())


async def pending_count(session: AsyncSession) -> int:
    statement = select(func.count()).select_from(OutboxEvent).where(
        OutboxEvent.projected_at.is_(None)
    )
    return int(await session.scalar(statement) or 0)


async def mark_projected(session: AsyncSession, ids: Sequence[int]) -> None:
    await session.execute(
        update(OutboxEvent).where(OutboxEvent.id.in_(list(ids))).values(projected_at=func.now())
    )


async def mark_all_projected(session: AsyncSession) -> None:
    await session.execute(
        update(OutboxEvent).where(OutboxEvent.projected_at.is_(None)).values(projected_at=func.now())
    )


async def stream(session: AsyncSession, model: type[M], batch: int) -> AsyncIterator[list[M]]:
    """Every row of a ledger table, in batches, for rebuild and verify."""
    result = await session.stream_scalars(
        select(model).execution_options(yield_per=batch)
    )
    async for partition in result.partitions(batch):
        yield list(partition)

async def table_counts(session: AsyncSession) -> dict[str, int]:
    """Rows a rebuild reads, per table (for its progress display)."""
    counts: dict[str, int] = {}
    for model in (Account, Contact, AccountEdge, Relationship):
        counts[model.__tablename__] = int(
            await session.scalar(select(func.count()).select_from(model)) or 0)
    return counts


async def lag_seconds(session: AsyncSession) -> tuple[int, float]:
    """Events waiting for the graph, and how long the oldest has waited (0 when none)."""
    row = (await session.execute(
        select(func.count(), func.coalesce(
            func.extract("epoch", func.now() - func.min(OutboxEvent.at)), 0))
        .where(OutboxEvent.projected_at.is_(None)))).one()
    return int(row[0]), float(row[1])


async def projected_ids(session: AsyncSession, ids: Sequence[int]) -> set[int]:
    """Which of these events the graph has applied (by whichever instance)."""
    found = await session.scalars(
        select(OutboxEvent.id).where(OutboxEvent.id.in_(list(ids)),
                                     OutboxEvent.projected_at.is_not(None)))
    return set(found)


@asynccontextmanager
async def rebuild_snapshot(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """One REPEATABLE READ snapshot of the ledger holding the projector lock, for recreating
    the graph from it; on a clean exit every event pending at the snapshot is marked projected
    (events committed after it stay pending for the projector) and the lock is released."""
    async with sessionmaker() as session:
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        await lock_projector(session)
        yield session
        await mark_all_projected(session)
        await session.commit()


Claimed = list[tuple[int, str, dict[str, Any]]]


class OutboxSource:
    """The outbox as the graph projector's event source: batches claimed under the projector
    lock (one projector at a time across instances), marked projected when applied."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    @asynccontextmanager
    async def claim(self, limit: int) -> AsyncIterator[Claimed | None]:
        """Pending events as (id, topic, payload), oldest first; None while another instance
        projects. Marked projected (and the lock released) when the block exits cleanly."""
        async with self._sessionmaker() as session, session.begin():
            if not await try_lock_projector(session):
                yield None
                return
            events = [(event.id, event.topic, event.payload)
                      for event in await pending(session, limit)]
            yield events
            if events:
                await mark_projected(session, [event_id for event_id, _, _ in events])

    async def pending_count(self) -> int:
        async with self._sessionmaker() as session:
            return await pending_count(session)

    async def projected(self, ids: Sequence[int]) -> set[int]:
        async with self._sessionmaker() as session:
            return await projected_ids(session, ids)
