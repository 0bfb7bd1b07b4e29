"""Bindings of the subscription fields: audit the attempt, then hand each change of the
subscriber's stream to the schema with fresh per-event DataLoaders; a subscriber that fell a
whole queue behind is closed with 1013 and resumes from its last cursor."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from resolvers.context import Context
from services import subscriptions
from services.errors import Unavailable
from services.subscriptions import Change, StreamFilter, SubscriberTooSlow

TOO_SLOW = 1013  # "try again later": resume with `after:` the last cursor received


async def changes(ctx: Context, stream: str, field_name: str, after: str | None,
                  wanted: StreamFilter, arguments: dict[str, Any]) -> AsyncIterator[Change]:
    actor = await ctx.actor()
    dispatcher = ctx.dispatcher
    if dispatcher is None:
        raise Unavailable(ctx.stores.settings.unavailable_retry_after_seconds, "subscriptions")
    async with await ctx.uow() as uow:
        await subscriptions.record_start(uow, actor, dispatcher, field_name, arguments,
                                         ctx.stores.settings.subscriptions_per_identity)
    stream_of = subscriptions.changes(dispatcher, ctx.stores.read, ctx.stores.cursor_key,
                                      actor, stream, after, wanted.matches)
    try:
        async for change in stream_of:
            ctx.fresh_loaders()
            yield change
            await ctx.flush_reads()
    except SubscriberTooSlow:
        await ctx.close_socket(TOO_SLOW, "subscriber too slow: resume with `after`")
