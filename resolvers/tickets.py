"""Service desk bindings: arguments in, one service call, records out."""

from __future__ import annotations

import uuid

from resolvers.context import Context
from resolvers.ids import from_global_id
from services import tickets
from services.pagination import Page
from services.tickets import HistoryRecord, TicketDraft, TicketRecord, TicketSearch


def from_id(global_id: str, type_name: str, field: str) -> uuid.UUID:
    return from_global_id(global_id, type_name, field)


def optional_id(global_id: str | None, type_name: str, field: str) -> uuid.UUID | None:
    return None if global_id is None else from_global_id(global_id, type_name, field)


async def create(ctx: Context, draft: TicketDraft) -> TicketRecord:
    async with await ctx.uow() as uow:
        return await tickets.create(uow, await ctx.actor(), draft, ctx.stores.clock.now())


async def transition(ctx: Context, ticket_id: str, to: str, version: int,
                     note: str | None) -> TicketRecord:
    found = from_global_id(ticket_id, "Ticket", "ticketId")
    async with await ctx.uow() as uow:
        return await tickets.transition(uow, await ctx.actor(), found, to, version, note,
                                        ctx.stores.clock.now())


async def feedback(ctx: Context, ticket_id: str, score: int, comment: str | None) -> TicketRecord:
    found = from_global_id(ticket_id, "Ticket", "ticketId")
    async with await ctx.uow() as uow:
        return await tickets.feedback(uow, await ctx.actor(), found, score, comment,
                                      ctx.stores.clock.now())


async def search(ctx: Context, wanted: TicketSearch, first: int | None,
                 after: str | None) -> Page[TicketRecord]:
    return await tickets.search(ctx.stores.read, ctx.stores.cursor_key, await ctx.actor(),
                                wanted, first, after)


async def count(ctx: Context, wanted: TicketSearch) -> int:
    return await tickets.count(ctx.stores.read, await ctx.actor(), wanted)


async def ticket(ctx: Context, global_id: str) -> TicketRecord | None:
    found = from_global_id(global_id, "Ticket", "id")
    return (await tickets.load_many(ctx.stores.read, await ctx.actor(), [found])).get(found)


async def history(ctx: Context, ticket_id: uuid.UUID) -> list[HistoryRecord]:
    return await ctx.loaders.ticket_history.load(ticket_id)

