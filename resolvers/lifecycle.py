"""Lifecycle bindings."""

from __future__ import annotations

from resolvers.context import Context
from resolvers.ids import from_global_id
from services import lifecycle
from services.accounts import AccountRecord


async def transition(ctx: Context, account_id: str, to: str, reason: str) -> AccountRecord:
    found = from_global_id(account_id, "Account", "accountId")
    async with await ctx.uow() as uow:
        row = await lifecycle.transition(uow, await ctx.actor(), ctx.stores.settings, found, to,
                                         reason, ctx.stores.clock.now())
        record = AccountRecord.of(row)
    ctx.loaders.account.prime(record.id, record, force=True)
    return record
