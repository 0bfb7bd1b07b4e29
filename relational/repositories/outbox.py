"""Outbox reads and marks for the projector; one projector at a time across app instances."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import TypeVar

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from relational.models import Base, OutboxEvent

_PROJECTOR_LOCK = 0x70726F6A  # "proj"
M = TypeVar("M", bound=Base)


async def try_lock_projector(session: AsyncSession) -> bool:
    locked = await session.scalar(
        text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _PROJECTOR_LOCK}
    )
    return bool(locked)


async def lock_projector(session: AsyncSession) -> None:
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PROJECTOR_LOCK})


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

