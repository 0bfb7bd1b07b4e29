"""Contact queries, batched per account for DataLoaders."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import ColumnElement, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from relational.models import Contact


async def pages_by_account(
    session: AsyncSession,
    account_ids: Sequence[uuid.UUID],
    *,
    limit: int,
    after: tuple[str, uuid.UUID] | None = None,
) -> dict[uuid.UUID, list[Contact]]:
    """The first `limit` contacts (by name, id) of each account, in one statement."""
    if not account_ids:
        return {}
    conditions: list[ColumnElement[bool]] = [Contact.account_id.in_(list(set(account_ids)))]
    if after is not None:
        conditions.append(tuple_(Contact.name, Contact.id) > tuple_(after[0], after[1]))
    rank = (
        func.row_number()
        .over(partition_by=Contact.account_id, order_by=(Contact.name, Contact.id))
        .label("rank")
    )
    inner = select(Contact, rank).where(*conditions).subquery()
    ranked = select(Contact).from_statement(
        select(inner).where(inner.c.rank <= limit).order_by(
            inner.c.account_id, inner.c.name, inner.c.id
        )
    )
    result: dict[uuid.UUID, list[Contact]] = {account_id: [] for account_id in account_ids}
    for contact in (await session.scalars(ranked)).all():
        result[contact.account_id].append(contact)
    return result


async def counts_by_account(
    session: AsyncSession, account_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    statement = (
        select(Contact.account_id, func.count())
        .where(Contact.account_id.in_(list(set(account_ids))))
        .group_by(Contact.account_id)
    )
    counts = {account_id: 0 for account_id in account_ids}
    for account_id, number in await session.execute(statement):
        counts[account_id] = int(number)
    return counts


async def get_many(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Contact]:
    if not ids:
        return {}
    rows = await session.scalars(select(Contact).where(Contact.id.in_(list(set(ids)))))
    return {row.id: row for row in rows}


async def get_for_update(session: AsyncSession, contact_id: uuid.UUID) -> Contact | None:
    statement = select(Contact).where(Contact.id == contact_id).with_for_update()
    return (await session.scalars(statement)).one_or_none()
