"""Pipeline reports: stage conversion and time in stage, forecasts by period and category,
weekly forecast snapshots (immutable) and their accuracy. The ledger aggregates
(relational/repositories/pipeline_stats.py), `analytics.pipeline` computes."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from analytics import pipeline as reports
from analytics.pipeline import Accuracy, Bucket, Conversion, ForecastRow, Period, StageWeights
from auth.actor import Actor, DataScope
from relational.ledger import Reader
from relational.repositories import pipeline_stats as stats
from relational.repositories.pipeline_stats import Segment
from relational.repositories.visibility import Visibility
from relational.uow import UnitOfWork
from services import money, pipelines, policy
from services.errors import BadUserInput
from services.pipelines import PipelineRecord

EVERYTHING = Visibility(everything=True, max_level=3)


@dataclass(frozen=True)
class SegmentFilter:
    pipeline_id: uuid.UUID | None = None
    owner_id: uuid.UUID | None = None
    department_id: uuid.UUID | None = None
    region: str | None = None
    industry: str | None = None

    def segment(self) -> Segment:
        return Segment(self.pipeline_id or pipelines.DEFAULT_PIPELINE_ID, self.owner_id,
                       self.department_id, self.region, self.industry)


def _amounts(actor: Actor) -> Visibility:
    """Whose amounts the actor sees, as a visibility (policy.amount_visible)."""
    seen = policy.visibility(actor)
    if not actor.can("amount:read"):
        return Visibility()
    return Visibility(everything=actor.scope is DataScope.ALL, owner_id=actor.user_id,
                      department_ids=seen.department_ids, max_level=seen.max_level)


async def conversion(read: Reader, actor: Actor, wanted: SegmentFilter, *,
                     since: date | None, until: date | None) -> list[Conversion]:
    if since is not None and until is not None and since > until:
        raise BadUserInput("`since` is after `until`", field="since")
    async with read() as session:
        pipeline = await pipelines.get(session, wanted.pipeline_id or
                                       pipelines.DEFAULT_PIPELINE_ID)
        keys = [stage.key for stage in pipeline.stages]
        flows = await stats.stage_flows(session, policy.visibility(actor), wanted.segment(),
                                        keys, since=since, until=until)
    return reports.conversion(keys, [reports.StageFlow(*flow) for flow in flows])


def weights(pipeline: PipelineRecord, historical: Mapping[str, Any]) -> dict[str, StageWeights]:
    """Per stage: category, default probability and the historical win rate (from the current
    win model; the default probability until one is trained)."""
    return {stage.key: StageWeights(stage.category.value, stage.probability,
                                    Decimal(str(historical.get(stage.key, stage.probability))))
            for stage in pipeline.stages}


def _buckets(rows: list[tuple[Any, ...]]) -> list[Bucket]:
    return [Bucket(owner, department, month, status, stage, Decimal(amount))
            for owner, department, month, status, stage, amount in rows]


async def _weights(session: Any, pipeline_id: uuid.UUID) -> tuple[PipelineRecord,
                                                                   dict[str, StageWeights]]:
    pipeline = await pipelines.get(session, pipeline_id)
    model = await stats.latest_model(session)
    rates = (model.parameters.get("stageWinRates", {}).get(str(pipeline_id), {})
             if model is not None else {})
    return pipeline, weights(pipeline, rates)


async def forecast(read: Reader, actor: Actor, period: Period, *, currency: str,
                   first: date | None, periods: int, wanted: SegmentFilter
                   ) -> list[ForecastRow]:
    """Closed / Commit / Best Case / Pipeline (cumulative), weighted and model-based, for
    `periods` periods from the one holding `first` (today if not given)."""
    if not 1 <= periods <= 12:
        raise BadUserInput("`periods` is between 1 and 12", field="periods")
    code = money.currency(currency)
    start = reports.period_start(first or datetime.now(UTC).date(), period)
    end = reports.shift(start, period, periods)
    segment = wanted.segment()
    async with read() as session:
        _, stage_weights = await _weights(session, segment.pipeline_id)
        rows = await stats.buckets(session, _amounts(actor), segment, code, since=start,
                                   until=end)
    return reports.forecast(_buckets(rows), stage_weights, period, first=start, periods=periods)


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


@dataclass(frozen=True)
class SnapshotRecord:
    week_start: date
    currency: str
    taken_at: datetime
    rows: list[dict[str, Any]]


async def take_snapshot(uow: UnitOfWork, *, today: date, currency: str = "CNY",
                        periods: int = 4) -> tuple[SnapshotRecord, bool]:
    """This week's forecast of every deal, stored once: a second call in the same week
    answers the stored one unchanged (False). Run weekly by the scheduler."""
    code = money.currency(currency)
    week = week_start(today)
    start = reports.period_start(week, Period.MONTH)
    segment = Segment(pipelines.DEFAULT_PIPELINE_ID)
    _, stage_weights = await _weights(uow.session, segment.pipeline_id)
    rows = await stats.buckets(uow.session, EVERYTHING, segment, code, since=start,
                               until=reports.shift(reports.period_start(week, Period.QUARTER),
                                                   Period.QUARTER, periods))
    stored_rows = reports.snapshot_rows(_buckets(rows), stage_weights, today=week,
                                        periods=periods)
    added = await stats.add_snapshot(uow.session, week, code, stored_rows)
    found = await stats.snapshot(uow.session, week, code)
    if found is None:
        raise RuntimeError("the week's forecast snapshot vanished")
    if added:
        uow.audit("forecast.snapshot", [str(found.id)], after={"weekStart": week.isoformat(),
                                                               "currency": code})
    return SnapshotRecord(found.week_start, found.currency, found.taken_at, found.rows), added


def _visible_row(actor: Actor, row: Mapping[str, Any]) -> bool:
    if row["owner"] is None:
        return actor.scope is DataScope.ALL and actor.can("amount:read")
    return policy.amount_visible(actor, uuid.UUID(str(row["owner"])),
                                 None if row.get("department") is None
                                 else uuid.UUID(str(row["department"])))


async def snapshots(read: Reader, actor: Actor, currency: str, since: date | None
                    ) -> list[SnapshotRecord]:
    """Stored snapshots, each with only the rows whose amounts the actor may see."""
    async with read() as session:
        found = await stats.snapshots(session, money.currency(currency), since=since)
    return [SnapshotRecord(row.week_start, row.currency, row.taken_at,
                           [item for item in row.rows if _visible_row(actor, item)])
            for row in found]


async def accuracy(read: Reader, actor: Actor, kind: Period, category: str, currency: str,
                   *, today: date | None = None) -> list[Accuracy]:
    """MAPE of past snapshots per period and per owner (rows the actor may see)."""
    day = today or datetime.now(UTC).date()
    code = money.currency(currency)
    async with read() as session:
        found = await stats.snapshots(session, code)
        first = min((row.week_start for row in found), default=day)
        rows = await stats.buckets(session, EVERYTHING, Segment(pipelines.DEFAULT_PIPELINE_ID),
                                   code, since=reports.period_start(first, kind), until=day)
    results = reports.accuracy(
        [(row.week_start, [item for item in row.rows if _visible_row(actor, item)])
         for row in found], _buckets(rows), kind=kind, category=category, today=day)
    return results
