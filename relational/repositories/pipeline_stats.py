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
    Select,
    cast,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

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


def _deals(seen: Visibility, segment: Segment, *, amounts: bool = False
           ) -> list[ColumnElement[bool]]:
    """The reader's scope and the segment's owner, department, region and industry, as
    conditions on the deals (the pipeline apart); none when the reader sees every deal and
    the segment names nothing else, so a report's plan need not touch the deals."""
    conditions = []
    if not seen.all_opportunities:
        conditions.append(opportunity_amounts_readable(seen) if amounts
                          else opportunities_readable(seen))
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
    reached a further stage (WON last). Read off the history rows, which every move keeps up
    (`rank`, `ended_at`, `advanced`, and `days` computed from them), through the covering
    index by pipeline, stage and start; the deals are joined only to narrow them to the
    reader's scope or the segment."""
    conditions = [StageChange.pipeline_id == segment.pipeline_id,
                  StageChange.to_stage.in_(list(stages))]
    deals = _deals(seen, segment)
    if deals:
        conditions.append(StageChange.opportunity_id.in_(
            select(Opportunity.id).where(Opportunity.pipeline_id == segment.pipeline_id,
                                         *deals)))
    if since is not None:
        conditions.append(StageChange.moved_at >= since)
    if until is not None:
        conditions.append(StageChange.moved_at < until + timedelta(days=1))
    statement = (select(StageChange.to_stage, func.count(),
                        func.count().filter(StageChange.advanced),
                        func.percentile_cont(0.5).within_group(StageChange.days).filter(
                            StageChange.days.is_not(None)))
                 .where(*conditions).group_by(StageChange.to_stage))
    rows = (await session.execute(statement)).all()
    return [(stage, int(entered), int(advanced), None if median is None else float(median))
            for stage, entered, advanced, median in rows]


def _closing(seen: Visibility, segment: Segment, currency: str, status: str,
             day: InstrumentedAttribute[Any], since: date, until: date
             ) -> Select[uuid.UUID, uuid.UUID | None, date, str, str, Decimal]:
    """Deals of one status whose `day` falls in [since, until), each with the month it counts
    in; read from that status's covering index."""
    month = cast(func.date_trunc("month", func.coalesce(cast(Opportunity.closed_at, Date),
                                                        Opportunity.expected_close_on)), Date)
    return (select(Opportunity.owner_id, Opportunity.department_id, month.label("month"),
                   literal(status).label("status"), Opportunity.stage, Opportunity.amount)
            .where(Opportunity.status == status, Opportunity.pipeline_id == segment.pipeline_id,
                   Opportunity.currency == currency, day >= since, day < until,
                   *_deals(seen, segment, amounts=True)))


async def buckets(session: AsyncSession, seen: Visibility, segment: Segment, currency: str,
                  *, since: date, until: date) -> list[tuple[Any, ...]]:
    """(owner, department, month, status, stage, amount) sums of won deals by close month and
    open deals by expected close month, within [since, until); only deals whose amounts the
    reader may see."""
    deals = union_all(
        _closing(seen, segment, currency, "WON", Opportunity.closed_at, since, until),
        _closing(seen, segment, currency, "OPEN", Opportunity.expected_close_on, since, until),
    ).subquery()
    statement = (select(deals.c.owner_id, deals.c.department_id, deals.c.month,
                        deals.c.status, deals.c.stage, func.sum(deals.c.amount))
                 .group_by(deals.c.owner_id, deals.c.department_id, deals.c.month,
                           deals.c.status, deals.c.stage))
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
