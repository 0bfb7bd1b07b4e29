"""Aggregates behind the pipeline reports, computed by the ledger so a report reads a few
rows whatever the number of deals: stage flows for conversion, forecast buckets, stage win
rates, and the stored forecast snapshots and win models."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Float,
    and_,
    cast,
    func,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from relational.models import Account
from relational.pipeline_models import ForecastSnapshot, Opportunity, StageChange, WinModel
from relational.repositories.visibility import (
    Visibility,
    opportunities_readable,
    opportunity_amounts_readable,
)


@dataclass(frozen=True)
class Segment:
    """Which deals a report covers; all given conditions hold."""

    pipeline_id: uuid.UUID
    owner_id: uuid.UUID | None = None
    department_id: uuid.UUID | None = None
    region: str | None = None
    industry: str | None = None


def _segment(seen: Visibility, segment: Segment, *, amounts: bool = False
             ) -> list[ColumnElement[bool]]:
    readable = opportunity_amounts_readable(seen) if amounts else opportunities_readable(seen)
    conditions = [readable, Opportunity.pipeline_id == segment.pipeline_id]
    if segment.owner_id is not None:
        conditions.append(Opportunity.owner_id == segment.owner_id)
    if segment.department_id is not None:
        conditions.append(Opportunity.department_id == segment.department_id)
    if segment.region is not None or segment.industry is not None:
        accounts = select(Account.id)
        if segment.region is not None:
            accounts = accounts.where(Account.region == segment.region)
        if segment.industry is not None:
            accounts = accounts.where(Account.industry == segment.industry)
        conditions.append(Opportunity.account_id.in_(accounts))
    return conditions


async def stage_flows(session: AsyncSession, seen: Visibility, segment: Segment,
                      stages: Sequence[str], *, since: date | None, until: date | None
                      ) -> list[tuple[str, int, int, float | None]]:
    """(stage, entered, advanced, median days) of the stays in each stage that began in
    [since, until]: every entry into a stage is one stay; it advanced when a later move
    reached a further stage (WON last). Read straight off the history rows, which every move
    keeps up (`rank`, `ended_at`, `advanced`)."""
    deals = select(Opportunity.id).where(and_(True, *_segment(seen, segment)))
    days = cast(func.extract("epoch", StageChange.ended_at - StageChange.moved_at) / 86400,
                Float)
    statement = (select(StageChange.to_stage, func.count(),
                        func.count().filter(StageChange.advanced),
                        func.percentile_cont(0.5).within_group(days).filter(
                            StageChange.ended_at.is_not(None)))
                 .where(StageChange.opportunity_id.in_(deals),
                        StageChange.to_stage.in_(list(stages)))
                 .group_by(StageChange.to_stage))
    if since is not None:
        statement = statement.where(StageChange.moved_at >= since)
    if until is not None:
        statement = statement.where(StageChange.moved_at < until + timedelta(days=1))
    rows = (await session.execute(statement)).all()
    return [(stage, int(entered), int(advanced), None if median is None else float(median))
            for stage, entered, advanced, median in rows]


async def buckets(session: AsyncSession, seen: Visibility, segment: Segment, currency: str,
                  *, since: date, until: date) -> list[tuple[Any, ...]]:
    """(owner, department, month, status, stage, amount) sums of won deals by close month and
    open deals by expected close month, within [since, until); only deals whose amounts the
    reader may see."""
    day = func.coalesce(cast(Opportunity.closed_at, Date), Opportunity.expected_close_on)
    month = cast(func.date_trunc("month", day), Date)
    statement = (select(Opportunity.owner_id, Opportunity.department_id, month,
                        Opportunity.status, Opportunity.stage, func.sum(Opportunity.amount))
                 .where(and_(True, *_segment(seen, segment, amounts=True)),
                        Opportunity.currency == currency, Opportunity.status != "LOST",
                        or_(and_(Opportunity.status == "WON", Opportunity.closed_at >= since,
                                 Opportunity.closed_at < until),
                            and_(Opportunity.status == "OPEN",
                                 Opportunity.expected_close_on >= since,
                                 Opportunity.expected_close_on < until)))
                 .group_by(Opportunity.owner_id, Opportunity.department_id, month,
                           Opportunity.status, Opportunity.stage))
    return [tuple(row) for row in (await session.execute(statement)).all()]


async def stage_win_rates(session: AsyncSession, pipeline_id: uuid.UUID
                          ) -> dict[str, Decimal]:
    """Of the closed deals that passed through each stage, the share that was won."""
    passed = (select(StageChange.to_stage.label("stage"), Opportunity.id.label("deal"),
                     Opportunity.status.label("status"))
              .join(Opportunity, Opportunity.id == StageChange.opportunity_id)
              .where(Opportunity.pipeline_id == pipeline_id,
                     Opportunity.status.in_(("WON", "LOST")))
              .distinct().subquery())
    statement = select(passed.c.stage, func.count(),
                       func.count().filter(passed.c.status == "WON")).group_by(passed.c.stage)
    return {stage: (Decimal(won) / Decimal(total)).quantize(Decimal("0.0001"))
            for stage, total, won in (await session.execute(statement)).all() if total}


async def add_snapshot(session: AsyncSession, week_start: date, currency: str,
                       rows: list[dict[str, Any]]) -> bool:
    """Store the week's snapshot unless one exists (never replaced); True if stored."""
    statement = insert(ForecastSnapshot).values(
        id=uuid.uuid4(), week_start=week_start, currency=currency, rows=rows,
    ).on_conflict_do_nothing(index_elements=["week_start", "currency"]).returning(
        ForecastSnapshot.id)
    return (await session.scalar(statement)) is not None


async def snapshots(session: AsyncSession, currency: str, *, since: date | None = None
                    ) -> list[ForecastSnapshot]:
    statement = select(ForecastSnapshot).where(ForecastSnapshot.currency == currency)
    if since is not None:
        statement = statement.where(ForecastSnapshot.week_start >= since)
    return list((await session.scalars(statement.order_by(ForecastSnapshot.week_start))).all())


async def snapshot(session: AsyncSession, week_start: date,
                   currency: str) -> ForecastSnapshot | None:
    return (await session.scalars(select(ForecastSnapshot).where(
        ForecastSnapshot.week_start == week_start,
        ForecastSnapshot.currency == currency))).first()


async def latest_model(session: AsyncSession) -> WinModel | None:
    return (await session.scalars(select(WinModel).order_by(WinModel.version.desc())
                                  .limit(1))).first()


async def add_model(session: AsyncSession, model: WinModel) -> WinModel:
    session.add(model)
    await session.flush()
    return model
