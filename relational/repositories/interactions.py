"""Interactions between our staff and contacts: lists by account, contact or staff user (newest
first, keyset pages), the history behind KNOWS strengths, last contact dates."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from relational.models import Account, Interaction, InteractionContact
from relational.pipeline_models import Opportunity
from relational.repositories.visibility import Visibility, accounts_readable


@dataclass(frozen=True)
class InteractionQuery:
    """One list: exactly one of account, contact or user; all given filters hold."""

    seen: Visibility
    account_id: uuid.UUID | None = None
    contact_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    channel: str | None = None
    since: datetime | None = None  # inclusive
    before: datetime | None = None  # exclusive
    after: tuple[datetime, uuid.UUID] | None = None  # keyset: rows older than this one


def _conditions(query: InteractionQuery) -> list[ColumnElement[bool]]:
    """Only interactions with accounts the reader may see."""
    readable = Interaction.account_id.in_(select(Account.id).where(accounts_readable(query.seen)))
    conditions: list[ColumnElement[bool]] = [readable]
    if query.account_id is not None:
        conditions.append(Interaction.account_id == query.account_id)
    if query.user_id is not None:
        conditions.append(Interaction.user_id == query.user_id)
    if query.contact_id is not None:
        conditions.append(Interaction.id.in_(select(InteractionContact.interaction_id).where(
            InteractionContact.contact_id == query.contact_id)))
    if query.channel is not None:
        conditions.append(Interaction.channel == query.channel)
    if query.since is not None:
        conditions.append(Interaction.occurred_at >= query.since)
    if query.before is not None:
        conditions.append(Interaction.occurred_at < query.before)
    return conditions


async def page(session: AsyncSession, query: InteractionQuery,
               limit: int) -> list[tuple[Interaction, list[uuid.UUID]]]:
    """Newest first (occurred_at, id descending), with each interaction's contact ids."""
    conditions = _conditions(query)
    if query.after is not None:
        conditions.append(tuple_(Interaction.occurred_at, Interaction.id)
                          < tuple_(query.after[0], query.after[1]))
    statement = (select(Interaction).where(*conditions)
                 .order_by(Interaction.occurred_at.desc(), Interaction.id.desc()).limit(limit))
    rows = list((await session.scalars(statement)).all())
    people = await contacts_of(session, [row.id for row in rows])
    return [(row, people.get(row.id, [])) for row in rows]


Listed = list[tuple[Interaction, list[uuid.UUID]]]


async def pages_by_account(session: AsyncSession, account_ids: Sequence[uuid.UUID],
                           query: InteractionQuery, limit: int) -> dict[uuid.UUID, Listed]:
    """The first `limit` interactions of each account (newest first), in one statement."""
    if not account_ids:
        return {}
    conditions = [*_conditions(query), Interaction.account_id.in_(list(set(account_ids)))]
    if query.after is not None:
        conditions.append(tuple_(Interaction.occurred_at, Interaction.id)
                          < tuple_(query.after[0], query.after[1]))
    rank = func.row_number().over(
        partition_by=Interaction.account_id,
        order_by=(Interaction.occurred_at.desc(), Interaction.id.desc())).label("rank")
    inner = select(Interaction, rank).where(*conditions).subquery()
    ranked = select(Interaction).from_statement(
        select(inner).where(inner.c.rank <= limit).order_by(
            inner.c.account_id, inner.c.occurred_at.desc(), inner.c.id.desc()))
    rows = list((await session.scalars(ranked)).all())
    people = await contacts_of(session, [row.id for row in rows])
    found: dict[uuid.UUID, Listed] = {account_id: [] for account_id in account_ids}
    for row in rows:
        found[row.account_id].append((row, people.get(row.id, [])))
    return found


async def counts_by_account(session: AsyncSession, account_ids: Sequence[uuid.UUID],
                            query: InteractionQuery) -> dict[uuid.UUID, int]:
    statement = (select(Interaction.account_id, func.count())
                 .where(*_conditions(query), Interaction.account_id.in_(list(set(account_ids))))
                 .group_by(Interaction.account_id))
    found = {account_id: 0 for account_id in account_ids}
    for account_id, number in await session.execute(statement):
        found[account_id] = int(number)
    return found


async def count(session: AsyncSession, query: InteractionQuery) -> int:
    statement = select(func.count()).select_from(Interaction).where(*_conditions(query))
    return int(await session.scalar(statement) or 0)


async def contacts_of(session: AsyncSession,
                      ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[uuid.UUID]]:
    if not ids:
        return {}
    rows = await session.execute(
        select(InteractionContact.interaction_id, InteractionContact.contact_id)
        .where(InteractionContact.interaction_id.in_(list(ids)))
        .order_by(InteractionContact.interaction_id, InteractionContact.contact_id))
    found: dict[uuid.UUID, list[uuid.UUID]] = {}
    for interaction_id, contact_id in rows:
        found.setdefault(interaction_id, []).append(contact_id)
    return found


async def history(session: AsyncSession, user_id: uuid.UUID, contact_ids: Sequence[uuid.UUID]
                  ) -> dict[uuid.UUID, list[tuple[datetime, str]]]:
    """(occurred_at, direction) of every interaction of `user_id` with each contact."""
    if not contact_ids:
        return {}
    rows = await session.execute(
        select(InteractionContact.contact_id, Interaction.occurred_at, Interaction.direction)
        .join(Interaction, Interaction.id == InteractionContact.interaction_id)
        .where(Interaction.user_id == user_id,
               InteractionContact.contact_id.in_(list(set(contact_ids)))))
    found: dict[uuid.UUID, list[tuple[datetime, str]]] = {cid: [] for cid in contact_ids}
    for contact_id, occurred_at, direction in rows:
        found[contact_id].append((occurred_at, direction))
    return found


async def last_contact(session: AsyncSession, contact_ids: Sequence[uuid.UUID],
                       seen: Visibility, until: datetime | None = None
                       ) -> dict[uuid.UUID, datetime]:
    """When each contact last had an interaction with any of our staff (before `until`), among
    the interactions the reader may see."""
    if not contact_ids:
        return {}
    statement = (select(InteractionContact.contact_id, func.max(Interaction.occurred_at))
                 .join(Interaction, Interaction.id == InteractionContact.interaction_id)
                 .where(InteractionContact.contact_id.in_(list(set(contact_ids))),
                        *_conditions(InteractionQuery(seen=seen)))
                 .group_by(InteractionContact.contact_id))
    if until is not None:
        statement = statement.where(Interaction.occurred_at < until)
    return {contact_id: at for contact_id, at in await session.execute(statement)}


async def days_since_last_by_deal(session: AsyncSession, opportunity_ids: Sequence[uuid.UUID]
                                  ) -> dict[uuid.UUID, float]:
    """Per deal, in one statement: days from the last interaction with its account (before
    the deal closed, for a closed one) to its close, or to now while it is open. Deals whose
    account had no interaction by then are left out."""
    if not opportunity_ids:
        return {}
    until = func.coalesce(Opportunity.closed_at, func.now())
    last = func.max(Interaction.occurred_at)
    statement = (select(Opportunity.id, func.extract("epoch", until - last) / 86400.0)
                 .join(Interaction, and_(Interaction.account_id == Opportunity.account_id,
                                         Interaction.occurred_at <= until))
                 .where(Opportunity.id.in_(list(set(opportunity_ids))))
                 .group_by(Opportunity.id))
    return {deal: max(float(days), 0.0) for deal, days in await session.execute(statement)}
