"""Campaign types and root fields (CampaignQueries / CampaignMutations)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

import strawberry
from strawberry import relay

from resolvers import campaigns as resolve
from resolvers.ids import to_global_id
from schema.accounts import Info
from schema.directives import guard
from schema.writes import Settle
from services.campaigns import CampaignRecord


@strawberry.type(description="The members of a campaign you may see.")
class CampaignMembers:
    campaign: strawberry.Private[CampaignRecord]

    @strawberry.field(description="Members among the accounts you may see.")
    async def total_count(self, info: Info) -> int:
        return await resolve.member_count(info.context, self.campaign)


@strawberry.type(description="A marketing campaign (营销活动).")
class Campaign(relay.Node):
    id: relay.NodeID[str]
    name: str = strawberry.field(description="Name.")
    budget: Decimal = strawberry.field(description="Budget.")
    cost: Decimal = strawberry.field(description="Actual cost so far.")
    currency: str = strawberry.field(description="ISO 4217 currency of budget and cost.")
    segment: str = strawberry.field(description="Tag rule expression choosing the members.")
    created_at: datetime = strawberry.field(description="Created (UTC).")
    row: strawberry.Private[CampaignRecord]

    @classmethod
    def of(cls, row: CampaignRecord) -> Campaign:
        return cls(id=str(row.id), name=row.name, budget=row.budget, cost=row.cost,
                   currency=row.currency, segment=row.segment, created_at=row.created_at,
                   row=row)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Campaign | None]:
        rows = [await resolve.campaign(info.context, to_global_id("Campaign", node_id))
                for node_id in node_ids]
        return [None if row is None else cls.of(row) for row in rows]

    @strawberry.field(description="(Won revenue attributed − cost) / cost; null while the "
                                  "cost is zero. Attribution: README, 'Campaigns'.")
    async def roi(self, info: Info) -> Decimal | None:
        return await resolve.roi(info.context, self.row)

    @strawberry.field(description="Its members.")
    def members(self) -> CampaignMembers:
        return CampaignMembers(campaign=self.row)


@strawberry.input(description="A new campaign.")
class CampaignCreateInput:
    name: str = strawberry.field(description="Name.")
    budget: Decimal = strawberry.field(description="Budget, not negative.")
    currency: str = strawberry.field(default="CNY", description="ISO 4217 code.")
    segment: str = strawberry.field(description="Tag rule expression; its matches among the "
                                                "accounts you may see become the members.")
    cost: Decimal = strawberry.field(default=Decimal(0), description="Cost so far.")


@strawberry.type(description="Result of campaignCreate.")
class CampaignCreatePayload:
    campaign: Campaign = strawberry.field(description="The new campaign.")


async def campaign_create(info: Info, input: CampaignCreateInput) -> CampaignCreatePayload:
    row = await resolve.create(info.context, name=input.name, budget=input.budget,
                               currency=input.currency, segment=input.segment, cost=input.cost)
    return CampaignCreatePayload(campaign=Campaign.of(row))


@strawberry.type(description="Campaign reads.")
class CampaignQueries:
    @strawberry.field(description="One campaign by id; null if there is none.",
                      extensions=guard("campaign:read"))
    async def campaign(self, info: Info, id: strawberry.ID) -> Campaign | None:
        row = await resolve.campaign(info.context, str(id))
        return None if row is None else Campaign.of(row)


@strawberry.type(description="Campaign writes.")
class CampaignMutations:
    campaign_create = strawberry.mutation(
        resolver=campaign_create, description="Create a campaign; its segment's matches "
                                              "become members.",
        extensions=[*guard("campaign:write", audit_as="campaign.create"), Settle()])
