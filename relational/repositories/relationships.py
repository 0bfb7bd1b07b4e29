"""Relationship edges in the ledger. REPORTS_TO writes are serialised (one advisory lock) so
the no-cycle rule holds under concurrent requests."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

from sqlalchemy import ColumnElement, and_, delete, literal, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from relational.identity_models import User
from relational.models import Relationship

_REPORTING_LOCK = 0x72707473  # "rpts"


async def lock_reporting(session: AsyncSession) -> None:
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _REPORTING_LOCK})


def _overlaps(start: date, end: date | None) -> ColumnElement[bool]:
    """The edge is valid on some day of [start, end] (end None: open)."""
    starts_in_time = literal(True) if end is None else Relationship.valid_from <= end
    return and_(starts_in_time,
                or_(Relationship.valid_to.is_(None), Relationship.valid_to >= start))


async def reports_up_to(
    session: AsyncSession, start: uuid.UUID, target: uuid.UUID, valid_from: date,
    valid_to: date | None, *, excluding: uuid.UUID | None = None,
) -> bool:
    """Whether `target` is `start` or a manager above it along REPORTS_TO edges valid during
    [valid_from, valid_to] (the edge `excluding` left out)."""
    if start == target:
        return True
    conditions = [Relationship.kind == "REPORTS_TO", _overlaps(valid_from, valid_to)]
    if excluding is not None:
        conditions.append(Relationship.id != excluding)
    above = (select(Relationship.to_id.label("id"))
             .where(*conditions, Relationship.from_id == start)
             .cte("above", recursive=True))
    above = above.union(select(Relationship.to_id).where(*conditions,
                                                         Relationship.from_id == above.c.id))
    found = await session.scalar(select(literal(True)).where(above.c.id == target).limit(1))
    return bool(found)


async def get(session: AsyncSession, relationship_id: uuid.UUID, *,
              lock: bool = False) -> Relationship | None:
    statement = select(Relationship).where(Relationship.id == relationship_id)
    if lock:
        statement = statement.with_for_update()
    return (await session.scalars(statement)).one_or_none()


async def get_many(session: AsyncSession,
                   ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Relationship]:
    """The edges by id; who may see them is decided by their ends (the caller's)."""
    if not ids:
        return {}
    rows = await session.scalars(select(Relationship).where(Relationship.id.in_(list(set(ids)))))
    return {row.id: row for row in rows}


async def knows(session: AsyncSession, user_id: uuid.UUID, contact_ids: Sequence[uuid.UUID],
                *, lock: bool = False) -> dict[uuid.UUID, Relationship]:
    """The KNOWS edges from `user_id` to each of `contact_ids` (at most one per pair)."""
    if not contact_ids:
        return {}
    statement = select(Relationship).where(
        Relationship.kind == "KNOWS", Relationship.from_id == user_id,
        Relationship.to_id.in_(list(set(contact_ids))))
    if lock:
        statement = statement.with_for_update()
    return {row.to_id: row for row in await session.scalars(statement)}


async def active_users(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Display names of the active staff users among `ids`."""
    if not ids:
        return {}
    rows = await session.execute(select(User.id, User.display_name).where(
        User.id.in_(list(set(ids))), User.active.is_(True)))
    return {user_id: name for user_id, name in rows}


async def remove_touching(session: AsyncSession, contact_id: uuid.UUID) -> list[Relationship]:
    """Delete every relationship ending at or starting from a contact (the contact is being
    deleted); returns the removed rows."""
    rows = list((await session.scalars(select(Relationship).where(
        or_(Relationship.from_id == contact_id, Relationship.to_id == contact_id)))).all())
    if rows:
        await session.execute(delete(Relationship).where(
            Relationship.id.in_([row.id for row in rows])))
    return rows
