"""Inbox, tasks and notifications bindings."""

from __future__ import annotations

from resolvers.context import Context
from resolvers.ids import from_global_id
from services import notifications, tasks
from services.pagination import Page
from services.tasks import InboxItem, TaskRecord


async def inbox(ctx: Context, first: int | None, after: str | None) -> Page[InboxItem]:
    return await tasks.inbox(ctx.stores.read, ctx.stores.cursor_key, await ctx.actor(),
                             ctx.stores.clock.now(), first, after)


async def complete(ctx: Context, task_id: str) -> TaskRecord:
    found = from_global_id(task_id, "UserTask", "taskId")
    async with await ctx.uow() as uow:
        return await tasks.complete(uow, await ctx.actor(), found, ctx.stores.clock.now())


async def mark_read(ctx: Context, ids: list[str]) -> int:
    found = [from_global_id(given, "Notification", "ids") for given in ids]
    async with await ctx.uow() as uow:
        return len(await notifications.mark_read(uow, await ctx.actor(), found,
                                                 ctx.stores.clock.now()))
