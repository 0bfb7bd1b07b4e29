"""Campaign bindings."""

from __future__ import annotations

from decimal import Decimal

from resolvers.context import Context
from resolvers.ids import from_global_id
from services import campaigns
from services.campaigns import CampaignRecord


async def create(ctx: Context, *, name: str, budget: Decimal, currency: str, segment: str,
                 cost: Decimal) -> CampaignRecord:
    async with await ctx.uow() as uow:
        return await campaigns.create(uow, await ctx.actor(), name=name, budget=budget,
                                      currency=currency, segment=segment, cost=cost,
                                      now=ctx.stores.clock.now())


async def campaign(ctx: Context, global_id: str) -> CampaignRecord | None:
    found = from_global_id(global_id, "Campaign", "id")
    return (await campaigns.load_many(ctx.stores.read, [found])).get(found)


async def member_count(ctx: Context, row: CampaignRecord) -> int:
    return (await campaigns.member_counts(ctx.stores.read, await ctx.actor(), [row.id]))[row.id]


async def roi(ctx: Context, row: CampaignRecord) -> Decimal | None:
    return (await campaigns.rois(ctx.stores.read, [row]))[row.id]
