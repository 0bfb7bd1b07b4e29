"""Campaign bindings."""

from __future__ import annotations

from decimal import Decimal

from resolvers.context import Context
from resolvers.ids import from_global_id
from services import campaigns
from services.campaigns import CampaignRecord, MemberRecord
from services.pagination import Page


async def create(ctx: Context, *, name: str, budget: Decimal, currency: str, segment: str,
                 cost: Decimal) -> CampaignRecord:
    async with await ctx.uow() as uow:
        return await campaigns.create(uow, await ctx.actor(), name=name, budget=budget,
                                      currency=currency, segment=segment, cost=cost,
                                      now=ctx.stores.clock.now())


async def campaign(ctx: Context, global_id: str) -> CampaignRecord | None:
    found = from_global_id(global_id, "Campaign", "id")
    return (await campaigns.load_many(ctx.stores.read, [found])).get(found)


async def response_counts(ctx: Context, row: CampaignRecord) -> dict[str | None, int]:
    return (await campaigns.response_counts(ctx.stores.read, await ctx.actor(),
                                            [row.id]))[row.id]


async def members(ctx: Context, row: CampaignRecord, response: str | None, first: int | None,
                  after: str | None) -> Page[MemberRecord]:
    return await campaigns.members(ctx.stores.read, ctx.stores.cursor_key, await ctx.actor(),
                                   row.id, response=response, first=first, after=after)


async def respond(ctx: Context, *, campaign_id: str, account_id: str, response: str,
                  note: str | None) -> MemberRecord:
    campaign = from_global_id(campaign_id, "Campaign", "campaignId")
    account = from_global_id(account_id, "Account", "accountId")
    async with await ctx.uow() as uow:
        return await campaigns.respond(uow, await ctx.actor(), campaign_id=campaign,
                                       account_id=account, response=response, note=note,
                                       now=ctx.stores.clock.now())


async def roi(ctx: Context, row: CampaignRecord) -> Decimal | None:
    return (await campaigns.rois(ctx.stores.read, [row]))[row.id]


async def attribution(ctx: Context, row: CampaignRecord) -> tuple[int, int, int]:
    return await campaigns.attribution(ctx.stores.read, await ctx.actor(), row.id)
