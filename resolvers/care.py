"""Customer-care bindings: the caller's follow-up period, contacts' important dates."""

from __future__ import annotations

import uuid

from resolvers.context import Context
from resolvers.ids import from_global_id
from services import care, contact_dates
from services.contact_dates import DateRecord


async def follow_up_days(ctx: Context) -> int:
    return await care.follow_up_days(ctx.stores.read, ctx.stores.settings, await ctx.actor())


async def set_follow_up_days(ctx: Context, days: int) -> int:
    async with await ctx.uow() as uow:
        return await care.set_follow_up_days(uow, await ctx.actor(), days,
                                             ctx.stores.clock.now())


async def dates_of(ctx: Context, contact_id: uuid.UUID) -> list[DateRecord]:
    return await ctx.loaders.contact_dates.load(contact_id)


async def put_date(ctx: Context, contact_id: str, *, kind: str, month: int, day: int,
                   year: int | None, label: str | None) -> DateRecord:
    found = from_global_id(contact_id, "Contact", "contactId")
    async with await ctx.uow() as uow:
        return await contact_dates.put(uow, await ctx.actor(), found, kind=kind, month=month,
                                       day=day, year=year, label=label)


async def remove_date(ctx: Context, contact_id: str, kind: str) -> bool:
    found = from_global_id(contact_id, "Contact", "contactId")
    async with await ctx.uow() as uow:
        return await contact_dates.remove(uow, await ctx.actor(), found, kind)
