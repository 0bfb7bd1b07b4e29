"""Supply bindings: chains and exposure read from the graph, disruptions written to the
ledger."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

from resolvers.context import Context
from resolvers.ids import from_global_id
from services import clock, opportunities, supply
from services.accounts import AccountRecord
from services.errors import NotFound
from services.opportunities import OpportunityRecord
from services.supply import ChainKey, Exposed, Link, SupplyEdge
from services.vocabulary import SupplyDirection


async def chain(ctx: Context, account: AccountRecord, direction: SupplyDirection,
                depth: int | None, as_of: date | None) -> list[Link[SupplyEdge]]:
    levels = supply.check_tier(depth, "depth")
    return await ctx.loaders.supply_chain.load(
        ChainKey(str(account.id), direction, levels, as_of or clock.today()))


async def exposure(ctx: Context, account_id: str, max_tier: int | None,
                   as_of: date | None) -> list[Exposed]:
    tiers = supply.check_tier(max_tier, "maxTier")
    source = from_global_id(account_id, "Account", "accountId")
    account = await ctx.loaders.account.load(source)
    if account is None:
        ctx.note_miss("account", source)
        raise NotFound("no account with this id", field="accountId")
    return await supply.exposure(ctx.stores.graph, account, tiers, as_of or clock.today())


async def open_deals(ctx: Context, account_ids: Sequence[str]
                     ) -> dict[str, list[OpportunityRecord]]:
    """Our open deals with each exposed account (graph ids) that the caller may see, in one
    read."""
    keys = {key: uuid.UUID(key) for key in account_ids}
    found = await opportunities.open_of_accounts(ctx.stores.read, await ctx.actor(),
                                                 list(keys.values()))
    return {key: found[value] for key, value in keys.items()}


async def mark_disrupted(ctx: Context, account_id: str, reason: str,
                         since: date | None) -> AccountRecord:
    target = from_global_id(account_id, "Account", "accountId")
    async with await ctx.uow() as uow:
        row = await supply.mark_disrupted(uow, await ctx.actor(), target, reason, since)
    ctx.loaders.account.prime(row.id, row, force=True)
    return row


async def clear_disruption(ctx: Context, account_id: str) -> AccountRecord:
    target = from_global_id(account_id, "Account", "accountId")
    async with await ctx.uow() as uow:
        row = await supply.clear_disruption(uow, await ctx.actor(), target)
    ctx.loaders.account.prime(row.id, row, force=True)
    return row
