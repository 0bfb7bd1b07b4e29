"""Pipeline queries: pipelines, leads, opportunities (every read starts from the visibility
builder), their stage history, and the snapshots analytics run on."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    false,
    func,
    insert,
    literal_column,
    or_,
    select,
    true,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from relational.identity_models import User
from relational.models import Account
from relational.pipeline_models import Lead, Opportunity, Pipeline, StageChange
from relational.repositories.visibility import Visibility, opportunities_readable


async def pipeline(session: AsyncSession, pipeline_id: uuid.UUID) -> Pipeline | None:
    return await session.get(Pipeline, pipeline_id)


async def pipeline_for_update(session: AsyncSession, pipeline_id: uuid.UUID) -> Pipeline | None:
    return await session.get(Pipeline, pipeline_id, with_for_update=True)


async def pipelines(session: AsyncSession) -> list[Pipeline]:
    return list((await session.scalars(select(Pipeline).order_by(Pipeline.name))).all())


@dataclass(frozen=True)
class OpportunityQuery:
    visibility: Visibility = field(default_factory=Visibility)
    owner_id: uuid.UUID | None = None
    account_id: uuid.UUID | None = None
    status: str | None = None
    stage: str | None = None
    after: tuple[datetime, uuid.UUID] | None = None  # newest first


def _filtered(query: OpportunityQuery) -> list[ColumnElement[bool]]:
    conditions = [opportunities_readable(query.visibility)]
    if query.owner_id is not None:
        conditions.append(Opportunity.owner_id == query.owner_id)
    if query.account_id is not None:
        conditions.append(Opportunity.account_id == query.account_id)
    if query.status is not None:
        conditions.append(Opportunity.status == query.status)
    if query.stage is not None:
        conditions.append(Opportunity.stage == query.stage)
    return conditions


async def page(session: AsyncSession, query: OpportunityQuery, limit: int) -> list[Opportunity]:
    conditions = _filtered(query)
    if query.after is not None:
        conditions.append(tuple_(Opportunity.created_at, Opportunity.id) < tuple_(*query.after))
    statement = (select(Opportunity).where(and_(True, *conditions))
                 .order_by(Opportunity.created_at.desc(), Opportunity.id.desc()).limit(limit))
    return list((await session.scalars(statement)).all())


async def count(session: AsyncSession, query: OpportunityQuery) -> int:
    statement = select(func.count()).select_from(Opportunity).where(
        and_(True, *_filtered(query)))
    return int(await session.scalar(statement) or 0)


async def get_many(session: AsyncSession, ids: Sequence[uuid.UUID],
                   seen: Visibility) -> dict[uuid.UUID, Opportunity]:
    if not ids:
        return {}
    rows = await session.scalars(select(Opportunity).where(
        Opportunity.id.in_(list(set(ids))), opportunities_readable(seen)))
    return {row.id: row for row in rows}


async def open_of_accounts(session: AsyncSession, account_ids: Sequence[uuid.UUID],
                           seen: Visibility) -> list[Opportunity]:
    """The open deals the reader may see on any of these accounts, in one statement (by
    account, then newest first)."""
    if not account_ids:
        return []
    return list((await session.scalars(select(Opportunity).where(
        Opportunity.account_id.in_(list(set(account_ids))), Opportunity.status == "OPEN",
        opportunities_readable(seen)).order_by(
        Opportunity.account_id, Opportunity.created_at.desc(), Opportunity.id.desc()))).all())


async def get_for_update(session: AsyncSession, opportunity_id: uuid.UUID,
                         seen: Visibility) -> Opportunity | None:
    statement = select(Opportunity).where(
        Opportunity.id == opportunity_id, opportunities_readable(seen)).with_for_update()
    return (await session.scalars(statement)).one_or_none()


async def end_stay(session: AsyncSession, opportunity_id: uuid.UUID, at: datetime,
                   rank: int) -> None:
    """Before a move: the current stay ends now, and the earlier stays in stages before the
    one entered now have advanced."""
    await session.execute(update(StageChange).where(
        StageChange.opportunity_id == opportunity_id, StageChange.ended_at.is_(None),
    ).values(ended_at=at))
    await session.execute(update(StageChange).where(
        StageChange.opportunity_id == opportunity_id, StageChange.rank < rank,
        StageChange.advanced.is_(False)).values(advanced=True))


async def existing(session: AsyncSession, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Which of `ids` exist, whoever may see them: only to audit an attempt on a hidden one."""
    found = await session.scalars(select(Opportunity.id).where(Opportunity.id.in_(list(ids))))
    return set(found.all())


async def history(session: AsyncSession, ids: Sequence[uuid.UUID]) -> list[StageChange]:
    statement = (select(StageChange).where(StageChange.opportunity_id.in_(list(ids)))
                 .order_by(StageChange.opportunity_id, StageChange.moved_at, StageChange.id))
    return list((await session.scalars(statement)).all())


def leads_readable(seen: Visibility) -> ColumnElement[bool]:
    """Leads have no account yet: their owner, the owner's department scope, or everyone at
    scope ALL (regions by the lead's region)."""
    if seen.nothing:
        return false()
    if seen.everything:
        return true()
    reach: list[ColumnElement[bool]] = []
    if seen.owner_id is not None:
        reach.append(Lead.owner_id == seen.owner_id)
    if seen.department_ids:
        reach.append(Lead.department_id.in_(list(seen.department_ids)))
    if seen.regions:
        reach.append(Lead.region.in_(list(seen.regions)))
    return or_(false(), *reach)


async def lead_visible(session: AsyncSession, lead_id: uuid.UUID, seen: Visibility,
                       *, lock: bool = False) -> Lead | None:
    statement = select(Lead).where(Lead.id == lead_id, leads_readable(seen))
    if lock:
        statement = statement.with_for_update()
    return (await session.scalars(statement)).one_or_none()


async def leads_page(session: AsyncSession, seen: Visibility, status: str | None,
                     after: tuple[datetime, uuid.UUID] | None, limit: int) -> list[Lead]:
    """Newest first."""
    statement = select(Lead).where(leads_readable(seen))
    if status is not None:
        statement = statement.where(Lead.status == status)
    if after is not None:
        statement = statement.where(tuple_(Lead.created_at, Lead.id) < tuple_(*after))
    statement = statement.order_by(Lead.created_at.desc(), Lead.id.desc()).limit(limit)
    return list((await session.scalars(statement)).all())


NAME_NOISE = r"[\s().,·\-]"  # removed from names after NFKC (services/leads.py does the same)


async def account_by_name(session: AsyncSession, normalized: str) -> Account | None:
    """An account whose normalised name (NFKC, lower case, no spaces or punctuation) equals
    `normalized`."""
    key = func.lower(func.regexp_replace(func.normalize(Account.name, literal_column("NFKC")),
                                         NAME_NOISE, "", "g"))
    return (await session.scalars(select(Account).where(key == normalized).limit(1))).first()


async def account_by_uscc(session: AsyncSession, uscc: str) -> Account | None:
    return (await session.scalars(select(Account).where(Account.uscc == uscc))).first()


async def user_department(session: AsyncSession, user_id: uuid.UUID) -> uuid.UUID | None:
    departments = await session.scalar(select(User.department_ids).where(User.id == user_id))
    return departments[0] if departments else None


async def bulk_insert(session: AsyncSession, model: type[Any],
                      rows: Sequence[dict[str, Any]]) -> None:
    """Many rows in few statements (the demo seed and the bench)."""
    for start in range(0, len(rows), 5000):
        await session.execute(insert(model), list(rows[start:start + 5000]))


DealFact = tuple[uuid.UUID, uuid.UUID, str, Decimal, datetime]
MoveFact = tuple[uuid.UUID, str, datetime]


async def facts(session: AsyncSession, *, ids: Sequence[uuid.UUID] | None = None,
                closed_only: bool = False) -> tuple[list[DealFact], list[MoveFact]]:
    """Deals (id, pipeline, status, amount, created) and their moves (deal, to stage, when)
    for the win model: given ids, or every (closed) deal."""
    deals = select(Opportunity.id, Opportunity.pipeline_id, Opportunity.status,
                   Opportunity.amount, Opportunity.created_at)
    if ids is not None:
        deals = deals.where(Opportunity.id.in_(list(ids)))
    if closed_only:
        deals = deals.where(Opportunity.status.in_(("WON", "LOST")))
    moves = (select(StageChange.opportunity_id, StageChange.to_stage, StageChange.moved_at)
             .order_by(StageChange.opportunity_id, StageChange.moved_at, StageChange.id))
    if ids is not None:
        moves = moves.where(StageChange.opportunity_id.in_(list(ids)))
    elif closed_only:
        moves = moves.where(StageChange.opportunity_id.in_(
            select(Opportunity.id).where(Opportunity.status.in_(("WON", "LOST")))))
    found = [(a, b, c, d, e) for a, b, c, d, e in (await session.execute(deals)).all()]
    return found, [(a, b, c) for a, b, c in (await session.execute(moves)).all()]
