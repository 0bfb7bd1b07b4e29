"""Contacts' important dates (birthday …): personal data, read for contacts already loaded."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from relational.operations_models import ContactDate


async def of_contacts(session: AsyncSession,
                      ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[ContactDate]]:
    rows = await session.scalars(select(ContactDate).where(ContactDate.contact_id.in_(
        list(ids))).order_by(ContactDate.contact_id, ContactDate.month, ContactDate.day,
                             ContactDate.kind))
    found: dict[uuid.UUID, list[ContactDate]] = {}
    for row in rows:
        found.setdefault(row.contact_id, []).append(row)
    return found


async def put(session: AsyncSession, row: ContactDate) -> None:
    values = {"month": row.month, "day": row.day, "year": row.year, "label": row.label}
    await session.execute(insert(ContactDate).values(
        contact_id=row.contact_id, kind=row.kind, **values).on_conflict_do_update(
        index_elements=["contact_id", "kind"], set_=values))


async def remove(session: AsyncSession, contact_id: uuid.UUID, kind: str) -> bool:
    result = await session.execute(delete(ContactDate).where(
        ContactDate.contact_id == contact_id, ContactDate.kind == kind)
        .returning(ContactDate.kind))
    return result.first() is not None
