"""Pipeline analytics on snapshots handed in (no I/O): stage conversion and time in stage,
forecasts by period and category, and the accuracy (MAPE) of past forecast snapshots.

Forecast categories are cumulative, as in the major CRMs: Closed ⊂ Commit ⊂ Best Case ⊂
Pipeline. Closed counts deals won in the period; the others add open deals expected to close in
it whose stage is in that category."""

from __future__ import annotations

import statistics
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class StageFlow:
    """What the ledger counted for one stage in a period: deals that entered it, how many of
    those later reached a further stage (or WON), and the median days of the ended stays."""

    stage: str
    entered: int
    advanced: int
    median_days: float | None


@dataclass(frozen=True)
class Conversion:
    stage: str
    entered: int
    advanced: int
    rate: float
    median_days_in_stage: float | None


def conversion(stage_order: Sequence[str], flows: Iterable[StageFlow]) -> list[Conversion]:
    """Every stage of the pipeline in order, with its conversion rate (advanced / entered)."""
    found = {flow.stage: flow for flow in flows}
    rows = []
    for stage in stage_order:
        flow = found.get(stage, StageFlow(stage, 0, 0, None))
        rate = round(flow.advanced / flow.entered, 4) if flow.entered else 0.0
        days = None if flow.median_days is None else round(flow.median_days, 2)
        rows.append(Conversion(stage, flow.entered, flow.advanced, rate, days))
    return rows


@dataclass(frozen=True)
class Bucket:
    """Deals summed by owner, month and stage: won ones by the month they closed, open ones by
    the month they are expected to close."""

    owner_id: uuid.UUID | None
    department_id: uuid.UUID | None
    month: date
    status: str  # OPEN or WON
    stage: str
    amount: Decimal


@dataclass(frozen=True)
class StageWeights:
    """What a stage contributes to the forecast: its category, its default probability (the
    weighted forecast) and the historical win rate from it (the model-based one)."""

    category: str  # PIPELINE, BEST_CASE, COMMIT, OMITTED
    probability: Decimal
    historical: Decimal


class Period(StrEnum):
    MONTH = "MONTH"
    QUARTER = "QUARTER"


def period_of(day: date, period: Period) -> str:
    if period is Period.MONTH:
        return f"{day.year}-{day.month:02d}"
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def period_start(day: date, period: Period) -> date:
    month = day.month if period is Period.MONTH else 3 * ((day.month - 1) // 3) + 1
    return date(day.year, month, 1)


def shift(start: date, period: Period, count: int) -> date:
    months = start.year * 12 + start.month - 1 + count * (1 if period is Period.MONTH else 3)
    return date(months // 12, months % 12 + 1, 1)


def period_end(start: date, period: Period) -> date:
    """The first day after the period."""
    return shift(start, period, 1)


@dataclass
class ForecastRow:
    period: str
    closed: Decimal = ZERO
    commit: Decimal = ZERO
    best_case: Decimal = ZERO
    pipeline: Decimal = ZERO
    weighted: Decimal = ZERO
    model: Decimal = ZERO

    def value(self, category: str) -> Decimal:
        return Decimal(getattr(self, category.lower()))


CATEGORIES = ("closed", "commit", "best_case", "pipeline", "weighted", "model")
_OPEN_RANK = {"COMMIT": 0, "BEST_CASE": 1, "PIPELINE": 2}
CENT = Decimal("0.01")


def _add(row: ForecastRow, bucket: Bucket, weights: StageWeights | None) -> None:
    if bucket.status == "WON":
        for name in CATEGORIES:
            setattr(row, name, getattr(row, name) + bucket.amount)
        return
    rank = None if weights is None else _OPEN_RANK.get(weights.category)
    if weights is None or rank is None:
        return
    if rank <= 0:
        row.commit += bucket.amount
    if rank <= 1:
        row.best_case += bucket.amount
    row.pipeline += bucket.amount
    row.weighted += (bucket.amount * weights.probability).quantize(CENT)
    row.model += (bucket.amount * weights.historical).quantize(CENT)


def forecast(buckets: Iterable[Bucket], weights: Mapping[str, StageWeights], period: Period,
             *, first: date, periods: int) -> list[ForecastRow]:
    """`periods` periods from the one holding `first` (one currency: the caller filters)."""
    start = period_start(first, period)
    labels = [period_of(shift(start, period, i), period) for i in range(periods)]
    rows = {label: ForecastRow(label) for label in labels}
    for bucket in buckets:
        row = rows.get(period_of(bucket.month, period))
        if row is not None:
            _add(row, bucket, weights.get(bucket.stage))
    return [rows[label] for label in labels]


def snapshot_rows(buckets: Sequence[Bucket], weights: Mapping[str, StageWeights], *,
                  today: date, periods: int = 4) -> list[dict[str, object]]:
    """What a weekly snapshot stores: months and quarters ahead, in total and per owner."""
    owners: dict[tuple[uuid.UUID | None, uuid.UUID | None], list[Bucket]] = defaultdict(list)
    for bucket in buckets:
        owners[(None, None)].append(bucket)
        owners[(bucket.owner_id, bucket.department_id)].append(bucket)
    return [{"kind": kind.value, "period": row.period,
             "owner": None if owner is None else str(owner),
             "department": None if department is None else str(department),
             **{name: str(row.value(name)) for name in CATEGORIES}}
            for (owner, department), owned in owners.items() for kind in Period
            for row in forecast(owned, weights, kind, first=today, periods=periods)]


@dataclass(frozen=True)
class Accuracy:
    period: str
    owner_id: str | None
    snapshots: int
    mape: float | None  # percent; None when nothing was won in the period


def won_by_period(buckets: Iterable[Bucket], kind: Period
                  ) -> dict[tuple[str, str | None], Decimal]:
    """Amount won per (period, owner) and per (period, None)."""
    won: dict[tuple[str, str | None], Decimal] = defaultdict(lambda: ZERO)
    for bucket in buckets:
        if bucket.status == "WON":
            key = period_of(bucket.month, kind)
            won[(key, None)] += bucket.amount
            won[(key, None if bucket.owner_id is None else str(bucket.owner_id))] += \
                bucket.amount
    return won


def accuracy(snapshots: Iterable[tuple[date, Sequence[Mapping[str, object]]]],
             buckets: Sequence[Bucket], *, kind: Period, category: str, today: date,
             ) -> list[Accuracy]:
    """MAPE of every past snapshot's forecast of a period that has ended (and began after the
    snapshot's week started at the latest) against what was actually won in it: per period
    (owner None) and per period and owner."""
    won = won_by_period(buckets, kind)
    errors: dict[tuple[str, str | None], list[float]] = defaultdict(list)
    current = period_of(today, kind)
    for taken_on, rows in snapshots:
        for row in rows:
            owner = row["owner"]
            key = (str(row["period"]), None if owner is None else str(owner))
            if row["kind"] != kind.value or key[0] >= current or \
                    key[0] < period_of(taken_on, kind):
                continue
            actual = won.get(key, ZERO)
            values = errors[key]
            if actual > 0:
                predicted = Decimal(str(row[category.lower()]))
                values.append(float(abs(actual - predicted) / actual) * 100)
    return [Accuracy(period, owner, len(values),
                     round(statistics.fmean(values), 2) if values else None)
            for (period, owner), values in sorted(
                errors.items(), key=lambda item: (item[0][0], item[0][1] or ""))]
