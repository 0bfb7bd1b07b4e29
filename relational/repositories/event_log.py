"""The outbox read as an ordered event log, for live subscriptions and their replay. Its own
reading position (kept by each dispatcher), never the projector's `projected_at` marks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from relational.models import OutboxEvent


@dataclass(frozen=True)
class LoggedEvent:
    id: int
    at: datetime
    topic: str
    aggregate_id: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class Batch:
    """Committed events after a position, and the snapshot they were read in: `xmin` is the
    oldest transaction still running then, `xmax` the first not yet started."""

    events: list[LoggedEvent]
    xmin: int
    xmax: int


def _event(row: OutboxEvent) -> LoggedEvent:
    return LoggedEvent(row.id, row.at, row.topic, row.aggregate_id, row.payload)


async def read_after(session: AsyncSession, position: int, limit: int,
                     topics: tuple[str, ...] | None = None) -> Batch:
    """Events with ids above `position`, oldest first, read in one REPEATABLE READ snapshot
    (a fresh session's first statements): the snapshot bounds describe the rows returned."""
    await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    snapshot = (await session.execute(text(
        "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint, "
        "pg_snapshot_xmax(pg_current_snapshot())::text::bigint"))).one()
    statement = select(OutboxEvent).where(OutboxEvent.id > position)
    if topics is not None:
        statement = statement.where(OutboxEvent.topic.in_(topics))
    rows = await session.scalars(statement.order_by(OutboxEvent.id).limit(limit))
    return Batch([_event(row) for row in rows], int(snapshot[0]), int(snapshot[1]))


async def oldest_running(session: AsyncSession) -> int:
    """The oldest transaction still running (every older one has ended)."""
    found = await session.scalar(text(
        "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"))
    return int(found or 0)


async def head(session: AsyncSession) -> int:
    """The highest event id committed so far (0 for an empty outbox)."""
    return int(await session.scalar(select(func.coalesce(func.max(OutboxEvent.id), 0))) or 0)


async def first_since(session: AsyncSession, since: datetime) -> int | None:
    """The id of the oldest event at or after `since`, if any is kept."""
    found = await session.scalar(
        select(func.min(OutboxEvent.id)).where(OutboxEvent.at >= since))
    return None if found is None else int(found)


async def at_of(session: AsyncSession, event_id: int) -> datetime | None:
    """When an event was committed (None once pruned)."""
    found: datetime | None = await session.scalar(
        select(OutboxEvent.at).where(OutboxEvent.id == event_id))
    return found


async def prune(session: AsyncSession, before: datetime) -> int:
    """Drop events older than `before` that the projector has applied."""
    result = await session.execute(
        delete(OutboxEvent).where(OutboxEvent.at < before, OutboxEvent.projected_at.is_not(None)))
    return int(getattr(result, "rowcount", 0) or 0)


async def between(session: AsyncSession, after: int, until: int,
                  limit: int) -> list[LoggedEvent]:
    """Events with ids in (after, until], oldest first (ids the dispatcher has made final)."""
    rows = await session.scalars(select(OutboxEvent).where(
        OutboxEvent.id > after, OutboxEvent.id <= until).order_by(OutboxEvent.id).limit(limit))
    return [_event(row) for row in rows]
