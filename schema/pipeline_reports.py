"""Types of the pipeline reports, leads, tenders and the win model."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import Enum

import strawberry

from analytics.pipeline import Accuracy, Conversion, ForecastRow
from resolvers.ids import to_global_id
from services.forecasting import SnapshotRecord
from services.leads import LeadRecord
from services.tenders import MilestoneKind, TenderRecord
from services.win import ModelRecord


@strawberry.enum(name="ForecastPeriod", description="Forecast period length.")
class ForecastPeriod(Enum):
    MONTH = "MONTH"
    QUARTER = "QUARTER"


@strawberry.enum(name="ForecastView", description="What a forecast sums. Closed ⊂ Commit ⊂ "
                                                  "Best Case ⊂ Pipeline (cumulative); WEIGHTED: "
                                                  "closed + open × stage probability; MODEL: "
                                                  "closed + open × historical win rate.")
class ForecastView(Enum):
    CLOSED = "CLOSED"
    COMMIT = "COMMIT"
    BEST_CASE = "BEST_CASE"
    PIPELINE = "PIPELINE"
    WEIGHTED = "WEIGHTED"
    MODEL = "MODEL"


strawberry.enum(MilestoneKind, name="TenderMilestoneKind",
                description="招标 PUBLISHED, 投标 BID_SUBMITTED, 评标 EVALUATION, 定标 AWARD.")


@strawberry.type(description="Conversion of one stage in the period.")
class StageConversion:
    stage: str = strawberry.field(description="Stage key.")
    entered: int = strawberry.field(description="Deals that entered the stage in the period.")
    advanced: int = strawberry.field(description="Of those, deals that later reached a "
                                                 "further stage or were won.")
    rate: float = strawberry.field(description="advanced / entered (0 when none entered).")
    median_days_in_stage: float | None = strawberry.field(
        description="Median days of the ended stays in the stage that began in the period.")

    @classmethod
    def of(cls, row: Conversion) -> StageConversion:
        return cls(stage=row.stage, entered=row.entered, advanced=row.advanced, rate=row.rate,
                   median_days_in_stage=row.median_days_in_stage)


@strawberry.type(description="The forecast of one period.")
class ForecastPoint:
    period: str = strawberry.field(description="2026-Q4 or 2026-11.")
    amount: Decimal = strawberry.field(description="The asked view's amount.")
    closed: Decimal = strawberry.field(description="Won in the period.")
    commit: Decimal = strawberry.field(description="Closed + open deals in Commit stages.")
    best_case: Decimal = strawberry.field(description="Commit + open Best Case deals.")
    pipeline: Decimal = strawberry.field(description="Best Case + open Pipeline deals.")
    weighted: Decimal = strawberry.field(description="Closed + open × stage probability.")
    model: Decimal = strawberry.field(description="Closed + open × historical win rate.")

    @classmethod
    def of(cls, row: ForecastRow, view: ForecastView) -> ForecastPoint:
        return cls(period=row.period, amount=row.value(view.value), closed=row.closed,
                   commit=row.commit, best_case=row.best_case, pipeline=row.pipeline,
                   weighted=row.weighted, model=row.model)


@strawberry.type(description="One row of a forecast snapshot: a period, in total or for one "
                             "owner.")
class ForecastSnapshotRow:
    kind: ForecastPeriod = strawberry.field(description="MONTH or QUARTER.")
    period: str = strawberry.field(description="The period.")
    owner_id: strawberry.ID | None = strawberry.field(description="The owner; null: total.")
    closed: Decimal = strawberry.field(description="Closed.")
    commit: Decimal = strawberry.field(description="Commit.")
    best_case: Decimal = strawberry.field(description="Best Case.")
    pipeline: Decimal = strawberry.field(description="Pipeline.")
    weighted: Decimal = strawberry.field(description="Weighted.")
    model: Decimal = strawberry.field(description="Model-based.")


@strawberry.type(description="The forecast as taken one week; it never changes.")
class ForecastSnapshot:
    week_start: date = strawberry.field(description="Monday of the week.")
    currency: str = strawberry.field(description="Currency.")
    taken_at: datetime = strawberry.field(description="When it was taken.")
    rows: list[ForecastSnapshotRow] = strawberry.field(
        description="Rows whose amounts you may see.")

    @classmethod
    def of(cls, row: SnapshotRecord) -> ForecastSnapshot:
        return cls(week_start=row.week_start, currency=row.currency, taken_at=row.taken_at,
                   rows=[ForecastSnapshotRow(
                       kind=ForecastPeriod(item["kind"]), period=item["period"],
                       owner_id=None if item["owner"] is None else strawberry.ID(
                           to_global_id("User", item["owner"])),
                       closed=Decimal(item["closed"]), commit=Decimal(item["commit"]),
                       best_case=Decimal(item["best_case"]),
                       pipeline=Decimal(item["pipeline"]),
                       weighted=Decimal(item["weighted"]), model=Decimal(item["model"]))
                       for item in row.rows])


@strawberry.type(description="How far past snapshots were from what closed (MAPE, percent).")
class ForecastAccuracy:
    period: str = strawberry.field(description="An ended period.")
    owner_id: strawberry.ID | None = strawberry.field(description="The owner; null: total.")
    snapshots: int = strawberry.field(description="Snapshots that forecast the period.")
    mape: float | None = strawberry.field(description="Mean absolute percentage error; null "
                                                      "when nothing was won in the period.")

    @classmethod
    def of(cls, row: Accuracy) -> ForecastAccuracy:
        return cls(period=row.period, snapshots=row.snapshots, mape=row.mape,
                   owner_id=None if row.owner_id is None else strawberry.ID(
                       to_global_id("User", row.owner_id)))


@strawberry.type(description="The win model in use (RULES until enough deals closed).")
class WinModel:
    version: int | None = strawberry.field(description="Stored version; null: never trained.")
    kind: str = strawberry.field(description="LOGISTIC or RULES.")
    trained_at: datetime | None = strawberry.field(description="When it was trained.")
    samples: int = strawberry.field(description="Closed deals it was trained on.")
    auc: float | None = strawberry.field(description="ROC AUC on held-out deals.")
    brier: float | None = strawberry.field(description="Brier score on held-out deals.")
    baseline_auc: float | None = strawberry.field(description="AUC of a stage-only model.")
    baseline_brier: float | None = strawberry.field(description="Brier of a stage-only model.")

    @classmethod
    def of(cls, row: ModelRecord) -> WinModel:
        return cls(version=row.version, kind=row.kind, trained_at=row.trained_at,
                   samples=row.samples, auc=row.auc, brier=row.brier,
                   baseline_auc=row.baseline_auc, baseline_brier=row.baseline_brier)


@strawberry.type(description="A sales lead, before it becomes an account and a deal.")
class Lead:
    id: strawberry.ID = strawberry.field(description="Global id.")
    company_name: str = strawberry.field(description="Company.")
    uscc: str | None = strawberry.field(description="统一社会信用代码, if known.")
    contact_name: str | None = strawberry.field(description="Contact person.")
    region: str = strawberry.field(description="Region.")
    industry: str = strawberry.field(description="Industry.")
    source: str = strawberry.field(description="Where it came from.")
    campaign_id: strawberry.ID | None = strawberry.field(description="Campaign, if any.")
    score: int = strawberry.field(description="0 to 100.")
    status: str = strawberry.field(description="OPEN or CONVERTED.")
    opportunity_id: strawberry.ID | None = strawberry.field(description="After conversion.")
    version: int = strawberry.field(description="Optimistic-concurrency version.")
    created_at: datetime = strawberry.field(description="Created (UTC).")

    @classmethod
    def of(cls, row: LeadRecord) -> Lead:
        return cls(id=strawberry.ID(to_global_id("Lead", row.id)),
                   company_name=row.company_name, uscc=row.uscc,
                   contact_name=row.contact_name, region=row.region, industry=row.industry,
                   source=row.source, score=row.score, status=row.status,
                   campaign_id=None if row.campaign_id is None else strawberry.ID(
                       to_global_id("Campaign", row.campaign_id)),
                   opportunity_id=None if row.opportunity_id is None else strawberry.ID(
                       to_global_id("Opportunity", row.opportunity_id)),
                   version=row.version, created_at=row.created_at)


@strawberry.type(description="A milestone of a tender.")
class TenderMilestone:
    kind: MilestoneKind = strawberry.field(description="Which milestone.")
    label: str = strawberry.field(description="招标, 投标, 评标 or 定标.")
    planned_on: date = strawberry.field(description="Planned date.")
    actual_on: date | None = strawberry.field(description="When it happened.")
    overdue: bool = strawberry.field(description="Planned before today and not done.")


@strawberry.type(description="A tender document, referenced by name and SM3 hash.")
class TenderDocument:
    name: str = strawberry.field(description="Document name.")
    sm3: str = strawberry.field(description="SM3 hash of the file (hex).")


@strawberry.type(description="Tender tracking of a project sale.")
class Tender:
    id: strawberry.ID = strawberry.field(description="Global id.")
    competitors: list[str] = strawberry.field(description="Competing bidders.")
    documents: list[TenderDocument] = strawberry.field(description="Documents.")
    outcome: str | None = strawberry.field(description="WON, LOST, WITHDRAWN or CANCELLED.")
    milestones: list[TenderMilestone] = strawberry.field(description="In tender order.")
    overdue: bool = strawberry.field(description="Some milestone is overdue.")
    version: int = strawberry.field(description="Optimistic-concurrency version.")

    @classmethod
    def of(cls, row: TenderRecord) -> Tender:
        return cls(id=strawberry.ID(to_global_id("Tender", row.id)),
                   competitors=list(row.competitors), outcome=row.outcome,
                   documents=[TenderDocument(name=name, sm3=digest)
                              for name, digest in row.documents],
                   milestones=[TenderMilestone(kind=m.kind, label=m.label,
                                               planned_on=m.planned_on, actual_on=m.actual_on,
                                               overdue=m.overdue) for m in row.milestones],
                   overdue=row.overdue, version=row.version)
