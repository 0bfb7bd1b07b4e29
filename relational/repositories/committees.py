"""Buying committee members and their stored influence scores."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from relational.models import CommitteeMember, Contact, InfluenceScore


async def members(session: AsyncSession, account_ids: Sequence[uuid.UUID],
                  on: date) -> dict[uuid.UUID, list[CommitteeMember]]:
    """The members of each account's committee on `on` (by start, id)."""
    if not account_ids:
        return {}
    rows = await session.scalars(
        select(CommitteeMember).where(
            CommitteeMember.account_id.in_(list(set(account_ids))),
            CommitteeMember.valid_from <= on,
            or_(CommitteeMember.valid_to.is_(None), CommitteeMember.valid_to >= on))
        .order_by(CommitteeMember.account_id, CommitteeMember.valid_from, CommitteeMember.id))
    found: dict[uuid.UUID, list[CommitteeMember]] = {key: [] for key in account_ids}
    for row in rows:
        found[row.account_id].append(row)
    return found


async def all_members(session: AsyncSession, on: date) -> dict[uuid.UUID, list[CommitteeMember]]:
    """Every committee's members on `on`, by account (full recomputes)."""
    rows = await session.scalars(
        select(CommitteeMember).where(
            CommitteeMember.valid_from <= on,
            or_(CommitteeMember.valid_to.is_(None), CommitteeMember.valid_to >= on))
        .order_by(CommitteeMember.account_id, CommitteeMember.valid_from, CommitteeMember.id))
    found: dict[uuid.UUID, list[CommitteeMember]] = {}
    for row in rows:
        found.setdefault(row.account_id, []).append(row)
    return found


async def replace_all_scores(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Every stored score becomes `rows` (account_id, contact_id, influence, betweenness,
    explanation, computed_at)."""
    await session.execute(delete(InfluenceScore))
    for start in range(0, len(rows), 5000):
        await session.execute(insert(InfluenceScore), list(rows[start:start + 5000]))


async def get(session: AsyncSession, member_id: uuid.UUID) -> CommitteeMember | None:
    return (await session.scalars(select(CommitteeMember).where(
        CommitteeMember.id == member_id).with_for_update())).one_or_none()


async def open_membership(session: AsyncSession, account_id: uuid.UUID, contact_id: uuid.UUID,
                          opportunity_id: uuid.UUID | None) -> CommitteeMember | None:
    statement = select(CommitteeMember).where(
        CommitteeMember.account_id == account_id, CommitteeMember.contact_id == contact_id,
        CommitteeMember.valid_to.is_(None))
    statement = statement.where(CommitteeMember.opportunity_id.is_(None) if opportunity_id is None
                                else CommitteeMember.opportunity_id == opportunity_id)
    return (await session.scalars(statement)).one_or_none()


async def accounts_with_members(session: AsyncSession,
                                contact_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Accounts whose committee (any period) has one of these contacts."""
    if not contact_ids:
        return set()
    return set((await session.scalars(select(CommitteeMember.account_id).distinct().where(
        CommitteeMember.contact_id.in_(list(set(contact_ids)))))).all())


async def scores(session: AsyncSession,
                 account_id: uuid.UUID) -> dict[uuid.UUID, InfluenceScore]:
    rows = await session.scalars(select(InfluenceScore).where(
        InfluenceScore.account_id == account_id))
    return {row.contact_id: row for row in rows}


async def scores_of(session: AsyncSession, account_ids: Sequence[uuid.UUID]
                    ) -> dict[uuid.UUID, dict[uuid.UUID, InfluenceScore]]:
    found: dict[uuid.UUID, dict[uuid.UUID, InfluenceScore]] = {key: {} for key in account_ids}
    if account_ids:
        for row in await session.scalars(select(InfluenceScore).where(
                InfluenceScore.account_id.in_(list(set(account_ids))))):
            found[row.account_id][row.contact_id] = row
    return found


async def replace_scores(session: AsyncSession, account_id: uuid.UUID,
                         rows: Sequence[dict[str, Any]], computed_at: datetime) -> None:
    """The account's stored scores become `rows` (contact_id, influence, betweenness,
    explanation); contacts deleted meanwhile are skipped."""
    await session.execute(delete(InfluenceScore).where(InfluenceScore.account_id == account_id))
    wanted = [row["contact_id"] for row in rows]
    alive = set((await session.scalars(select(Contact.id).where(Contact.id.in_(wanted)))).all()
                ) if wanted else set()
    kept = [{**row, "account_id": account_id, "computed_at": computed_at}
            for row in rows if row["contact_id"] in alive]
    if kept:
        await session.execute(insert(InfluenceScore), kept)
