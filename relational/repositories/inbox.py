"""A user's notifications and tasks, and their inbox (what is due), keyset-paged."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, literal, select, tuple_, union_all, update
from sqlalchemy.ext.asyncio import AsyncSession

from relational.identity_models import User
from relational.operations_models import Notification, UserTask


@dataclass(frozen=True)
class InboxRow:
    kind: str  # "task" | "notification"
    id: uuid.UUID
    due_at: datetime


async def page(session: AsyncSession, user_id: uuid.UUID, due_by: datetime,
               after: tuple[datetime, uuid.UUID] | None, limit: int) -> list[InboxRow]:
    """Open tasks due by `due_by` and unread notifications, oldest due first."""
    tasks = select(literal("task").label("kind"), UserTask.id.label("id"),
                   UserTask.due_at.label("due_at")).where(
        UserTask.user_id == user_id, UserTask.done_at.is_(None), UserTask.due_at <= due_by)
    notes = select(literal("notification").label("kind"), Notification.id.label("id"),
                   Notification.created_at.label("due_at")).where(
        Notification.user_id == user_id, Notification.read_at.is_(None))
    both = union_all(tasks, notes).subquery()
    statement = select(both.c.kind, both.c.id, both.c.due_at)
    if after is not None:
        statement = statement.where(tuple_(both.c.due_at, both.c.id) > tuple_(*after))
    rows = await session.execute(
        statement.order_by(both.c.due_at, both.c.id).limit(limit))
    return [InboxRow(row.kind, row.id, row.due_at) for row in rows]


async def tasks(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, UserTask]:
    rows = await session.scalars(select(UserTask).where(UserTask.id.in_(ids)))
    return {row.id: row for row in rows}


async def notifications(session: AsyncSession,
                        ids: list[uuid.UUID]) -> dict[uuid.UUID, Notification]:
    rows = await session.scalars(select(Notification).where(Notification.id.in_(ids)))
    return {row.id: row for row in rows}


async def own_task(session: AsyncSession, user_id: uuid.UUID,
                   task_id: uuid.UUID) -> UserTask | None:
    return (await session.scalars(select(UserTask).where(
        UserTask.id == task_id, UserTask.user_id == user_id).with_for_update())).one_or_none()


async def mark_read(session: AsyncSession, user_id: uuid.UUID, ids: list[uuid.UUID],
                    at: datetime) -> list[uuid.UUID]:
    result = await session.execute(update(Notification).where(
        Notification.user_id == user_id, Notification.id.in_(ids),
        Notification.read_at.is_(None)).values(read_at=at).returning(Notification.id))
    return [row.id for row in result]


async def overdue_task(session: AsyncSession, task_id: uuid.UUID) -> UserTask | None:
    return (await session.scalars(select(UserTask).where(
        UserTask.id == task_id, UserTask.done_at.is_(None),
        UserTask.warned_at.is_(None)).with_for_update())).one_or_none()


async def user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)


async def users(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, User]:
    rows = await session.scalars(select(User).where(and_(User.id.in_(ids))))
    return {row.id: row for row in rows}
