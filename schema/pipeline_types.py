"""Opportunity, its stage history, pipelines and stages, staff references and win scores."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry import relay

from auth.actor import Actor
from auth.masking import MaskKind
from resolvers import pipeline as resolve
from resolvers.context import Context
from resolvers.ids import to_global_id
from schema.accounts import AccountRef, account_ref
from schema.directives import guard
from schema.staff import Staff
from services import policy
from services.opportunities import OpportunityRecord, OpportunitySearch, StageChangeRecord
from services.pipelines import PipelineRecord, Stage

if TYPE_CHECKING:
    from schema.decisions import DecisionMap
    from schema.money_types import Contract, Quote
    from schema.pipeline_reports import Tender

Info = strawberry.Info[Context, None]


def amount_rule(actor: Actor, source: Any) -> bool:
    """Whose deal amounts the reader sees (services.policy.amount_visible)."""
    row = source.row
    return policy.amount_visible(actor, row.owner_id, row.department_id)


def amount_guard() -> list[Any]:
    """The rule of every amount of a deal and its documents."""
    return guard("amount:read", mask_as=MaskKind.FULL, record=amount_rule)


@strawberry.enum(name="OpportunityStatus", description="Open, or closed as won or lost.")
class OpportunityStatus(Enum):
    OPEN = "OPEN"
    WON = "WON"
    LOST = "LOST"


@strawberry.enum(name="ForecastCategory", description="Where a stage's open deals count.")
class ForecastCategoryEnum(Enum):
    PIPELINE = "PIPELINE"
    BEST_CASE = "BEST_CASE"
    COMMIT = "COMMIT"
    OMITTED = "OMITTED"


@strawberry.type(description="A stage of a pipeline.")
class PipelineStage:
    key: str = strawberry.field(description="Stage key, e.g. QUALIFICATION.")
    label: str = strawberry.field(description="Label, e.g. 需求确认.")
    probability: Decimal = strawberry.field(description="Default win probability, 0 to 1.")
    category: ForecastCategoryEnum = strawberry.field(description="Forecast category.")
    conditions: list[str] = strawberry.field(description="Entry conditions, by name.")

    @classmethod
    def of(cls, stage: Stage) -> PipelineStage:
        return cls(key=stage.key, label=stage.label, probability=stage.probability,
                   category=ForecastCategoryEnum(stage.category.value),
                   conditions=list(stage.conditions))


@strawberry.type(description="A sales pipeline: ordered stages, then WON or LOST.")
class Pipeline:
    id: strawberry.ID = strawberry.field(description="Global id.")
    name: str = strawberry.field(description="Name.")
    stages: list[PipelineStage] = strawberry.field(description="Stages in order.")
    version: int = strawberry.field(description="Optimistic-concurrency version.")

    @classmethod
    def of(cls, row: PipelineRecord) -> Pipeline:
        return cls(id=strawberry.ID(to_global_id("Pipeline", row.id)), name=row.name,
                   stages=[PipelineStage.of(stage) for stage in row.stages], version=row.version)


@strawberry.type(description="One move of an opportunity between stages.")
class StageChange:
    from_stage: str | None = strawberry.field(description="Stage before (null: created).")
    to_stage: str = strawberry.field(description="Stage after.")
    actor: str = strawberry.field(description="Who moved it.")
    note: str | None = strawberry.field(description="Why.")
    moved_at: datetime = strawberry.field(description="When (UTC).")

    @classmethod
    def of(cls, row: StageChangeRecord) -> StageChange:
        return cls(from_stage=row.from_stage, to_stage=row.to_stage, actor=row.actor,
                   note=row.note, moved_at=row.moved_at)


@strawberry.type(description="A reason an open deal is at risk (风险预警), with its weight.")
class Risk:
    reason: str = strawberry.field(description="What puts the deal at risk.")
    weight: float = strawberry.field(description="Share of the risk, 0 to 1.")


@strawberry.type(description="A sales opportunity on an account.")
class Opportunity(relay.Node):
    id: relay.NodeID[str]
    name: str = strawberry.field(description="Name of the deal.")
    stage: str = strawberry.field(description="Stage key (WON / LOST once closed).")
    status: OpportunityStatus = strawberry.field(description="OPEN, WON or LOST.")
    currency: str = strawberry.field(description="ISO 4217 currency of the amount.")
    expected_close_on: date = strawberry.field(description="When it is expected to close.")
    stage_entered_at: datetime = strawberry.field(description="When it entered its stage.")
    closed_at: datetime | None = strawberry.field(description="When it was won or lost.")
    lost_reason: str | None = strawberry.field(description="Why it was lost.")
    version: int = strawberry.field(description="Optimistic-concurrency version.")
    created_at: datetime = strawberry.field(description="Created (UTC).")
    row: strawberry.Private[OpportunityRecord]

    @classmethod
    def from_row(cls, row: OpportunityRecord) -> Opportunity:
        return cls(id=str(row.id), name=row.name, stage=row.stage,
                   status=OpportunityStatus(row.status), currency=row.currency,
                   expected_close_on=row.expected_close_on,
                   stage_entered_at=row.stage_entered_at, closed_at=row.closed_at,
                   lost_reason=row.lost_reason, version=row.version,
                   created_at=row.created_at, row=row)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Opportunity | None]:
        rows = await resolve.opportunities_by_uuid(info.context, [
            resolve.uuid_or_none(node_id) for node_id in node_ids])
        return [None if row is None else cls.from_row(row) for row in rows]

    @strawberry.field(description="Amount (decimal string); masked unless you are finance, "
                                  "the owner or in the owner's management chain.",
                      extensions=amount_guard())
    def amount(self) -> Decimal:
        return self.row.amount

    @strawberry.field(description="The account.")
    async def account(self, info: Info) -> AccountRef:
        return await account_ref(info, self.row.account_id)

    @strawberry.field(description="The deal's owner.")
    async def owner(self, info: Info) -> Staff | None:
        found = await info.context.loaders.staff.load(self.row.owner_id)
        return None if found is None else Staff.of(found.id)

    @strawberry.field(description="Every stage change, oldest first.")
    async def stage_history(self, info: Info) -> list[StageChange]:
        return [StageChange.of(row) for row in await resolve.history(info.context, self.row)]

    @strawberry.field(description="Quotes, by version.")
    async def quotes(self, info: Info) -> list[Annotated[Quote, strawberry.lazy(
            "schema.money_types")]]:
        from schema.money_types import Quote

        return [Quote.of(row) for row in await resolve.quotes_of(info.context, self.row)]

    @strawberry.field(description="Contracts and their amendments.")
    async def contracts(self, info: Info) -> list[Annotated[Contract, strawberry.lazy(
            "schema.money_types")]]:
        from schema.money_types import Contract

        return [Contract.of(row) for row in await resolve.contracts_of(info.context, self.row)]

    @strawberry.field(description="Tender tracking, for project sales.")
    async def tender(self, info: Info) -> Annotated[Tender, strawberry.lazy(
            "schema.pipeline_reports")] | None:
        from schema.pipeline_reports import Tender

        found = await resolve.tender_of(info.context, self.row)
        return None if found is None else Tender.of(found)

    @strawberry.field(description="The deal's own buying committee, its ties and our staff's "
                                  "reach on a date (today if omitted), drawn like "
                                  "`Account.decisionMap`: one graph query plus stored scores.",
                      extensions=guard("relationship:read"))
    async def decision_map(
        self, info: Info, as_of: Annotated[date | None, strawberry.argument(
            description="Show the map as it was on this day.")] = None,
    ) -> Annotated[DecisionMap, strawberry.lazy("schema.decisions")]:
        from schema.decisions import opportunity_decision_map

        return await opportunity_decision_map(info, self.row.account_id, self.row.id, as_of)

    @strawberry.field(description="Win probability 0 to 1 from the current win model (null "
                                  "once closed).")
    async def win_probability(self, info: Info) -> float | None:
        found = await resolve.win_of(info.context, self.row)
        return None if found is None else found.probability

    @strawberry.field(description="Risk flags (风险预警) of an open deal, strongest first.")
    async def risks(self, info: Info) -> list[Risk]:
        found = await resolve.win_of(info.context, self.row)
        return [] if found is None else [Risk(reason=reason, weight=weight)
                                         for reason, weight in found.risks]


@strawberry.type(description="A page of opportunities, newest first.")
class OpportunityConnection(relay.Connection[Opportunity]):
    query: strawberry.Private[OpportunitySearch]

    @strawberry.field(description="Opportunities matching the filter (all pages).")
    async def total_count(self, info: Info) -> int:
        return await resolve.count(info.context, self.query)
