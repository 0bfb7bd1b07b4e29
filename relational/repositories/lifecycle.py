"""Lifecycle transitions and the ledger facts the automatic rules and value tiers read."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import ColumnElement, and_, case, exists, func, not_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from relational.models import Account
from relational.repositories.tag_rules import interactions, opportunities, orders


async def present(session: AsyncSession, name: str) -> bool:
    return await session.scalar(text("SELECT to_regclass(:name)"), {"name": name}) is not None


def won_deal() -> ColumnElement[bool]:
    return exists().where(opportunities.c.account_id == Account.id,
                          opportunities.c.status == "WON")


def ordered_between(start: datetime, end: datetime) -> ColumnElement[bool]:
    return exists().where(orders.c.account_id == Account.id, orders.c.ordered_at >= start,
                          orders.c.ordered_at < end)


def interacted_since(start: datetime) -> ColumnElement[bool]:
    return exists().where(interactions.c.account_id == Account.id,
                          interactions.c.occurred_at >= start)


async def candidates(session: AsyncSession, stages: tuple[str, ...],
                     condition: ColumnElement[bool], limit: int) -> list[Account]:
    """Accounts in `stages` meeting `condition`, locked (skipping those being written)."""
    return list(await session.scalars(
        select(Account).where(Account.lifecycle_stage.in_(stages), condition)
        .order_by(Account.id).limit(limit).with_for_update(skip_locked=True)))


def quiet_since(start: datetime, *, orders_table: bool, interactions_table: bool
                ) -> ColumnElement[bool]:
    quiet: list[ColumnElement[bool]] = [Account.created_at < start]
    if orders_table:
        quiet.append(not_(ordered_between(start, datetime.max.replace(tzinfo=start.tzinfo))))
    if interactions_table:
        quiet.append(not_(interacted_since(start)))
    return and_(*quiet)


async def recompute_tiers(session: AsyncSession, now: datetime, weight: Decimal,
                          thresholds: tuple[Decimal, Decimal, Decimal],
                          account_ids: list[uuid.UUID] | None = None) -> int:
    """value_tier from score = annual revenue × weight + won revenue and orders of the last
    365 days; A ≥ thresholds[0] > B ≥ thresholds[1] > C ≥ thresholds[2] > D."""
    year = now - timedelta(days=365)
    score = func.coalesce(Account.annual_revenue, 0) * weight
    if await present(session, "opportunities"):
        score = score + func.coalesce(select(func.sum(opportunities.c.amount)).where(
            opportunities.c.account_id == Account.id, opportunities.c.status == "WON",
            opportunities.c.closed_at >= year).correlate(Account).scalar_subquery(), 0)
    if await present(session, "orders"):
        score = score + func.coalesce(select(func.sum(orders.c.amount)).where(
            orders.c.account_id == Account.id, orders.c.ordered_at >= year)
            .correlate(Account).scalar_subquery(), 0)
    a, b, c = thresholds
    tier = case((score >= a, "A"), (score >= b, "B"), (score >= c, "C"), else_="D")
    statement = update(Account).values(value_tier=tier).where(
        Account.value_tier.is_distinct_from(tier))
    if account_ids is not None:
        statement = statement.where(Account.id.in_(account_ids))
    result = await session.execute(statement)
    return int(result.rowcount)  # type: ignore[attr-defined]
