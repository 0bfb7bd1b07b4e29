"""Tag rule bindings."""

from __future__ import annotations

from resolvers.context import Context
from services import tag_rules
from services.account_tags import TagRecord, tags_of
from services.accounts import AccountRecord
from services.tag_rules import Preview, TagRuleRecord


async def create(ctx: Context, *, name: str, layer: str, expression: str,
                 enabled: bool) -> TagRuleRecord:
    async with await ctx.uow() as uow:
        return await tag_rules.create(uow, await ctx.actor(), name=name, layer=layer,
                                      expression=expression, enabled=enabled)


async def preview(ctx: Context, expression: str) -> Preview:
    found = await tag_rules.preview(ctx.stores.read, await ctx.actor(), expression,
                                    ctx.stores.clock.now())
    for row in found.sample:
        ctx.loaders.account.prime(row.id, row)
    return found


async def tags(ctx: Context, account: AccountRecord) -> list[TagRecord]:
    return tags_of(account.tags, await ctx.loaders.account_tags.load(account.id))
