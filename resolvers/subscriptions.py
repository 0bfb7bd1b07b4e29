"""Bindings of the subscription fields: audit the attempt, then hand each change of the
subscriber's stream to the schema with fresh per-event DataLoaders; a subscriber that fell a
whole queue behind is closed with 1013 and resumes from its last cursor.

Over graphql-transport-ws the socket handler names the operation being run (`OPERATION`):
live events then go through the subscriber's group (`services.subscription_groups`), whose
one `GroupRenderer` executes the operation once per event and outcome for all its members;
each member sends the shared text on its own socket and records the reads as its own."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any

from auth.actor import Actor
from resolvers.context import Context, Feed
from services import subscription_groups, subscriptions
from services.errors import Unavailable
from services.subscription_groups import Rendered, Subscription
from services.subscriptions import Change, StreamFilter, SubscriberTooSlow

TOO_SLOW = 1013  # "try again later": resume with `after:` the last cursor received


@dataclass(frozen=True)
class Operation:
    """The graphql-transport-ws operation a subscription field runs under."""

    id: str
    key: tuple[str, str, str | None]  # document, variables as canonical JSON, operation name
    run: Callable[[Context], AsyncIterator[dict[str, Any]]]  # the `next` payloads, as another
    encode: Callable[[object], str]  # the handler's JSON encoder


OPERATION: ContextVar[Operation | None] = ContextVar("ws_operation", default=None)


class GroupRenderer:
    """The group's own run of the operation, fed one change at a time, under a context of
    the group's actor whose reads are handed to the members instead of being recorded."""

    def __init__(self, ctx: Context, actor: Actor, operation: Operation) -> None:
        self._feed = Feed()
        self._ctx = Context(stores=ctx.stores, request_id=f"{ctx.request_id}:group",
                            dispatcher=ctx.dispatcher, ip=ctx.ip, feed=self._feed)
        self._ctx.acting_as(actor)
        self._operation = operation
        self._results: AsyncIterator[dict[str, Any]] | None = None

    async def render(self, change: Change) -> Rendered:
        if self._results is None:
            self._results = self._operation.run(self._ctx)
        self._feed.put(change)
        payload = await anext(self._results)
        return Rendered(self._operation.encode(payload), self._ctx.take_notes())

    async def aclose(self) -> None:
        results, self._results = self._results, None
        close = getattr(results, "aclose", None)
        if close is not None:
            await close()


async def changes(ctx: Context, stream: str, field_name: str, after: str | None,
                  wanted: StreamFilter, arguments: dict[str, Any]) -> AsyncIterator[Change]:
    actor = await ctx.actor()
    if ctx.feed is not None:  # a group's own run: it renders what the group hands it
        async for change in ctx.feed:
            ctx.fresh_loaders()
            yield change
        return
    dispatcher = ctx.dispatcher
    if dispatcher is None:
        raise Unavailable(ctx.stores.settings.unavailable_retry_after_seconds, "subscriptions")
    async with await ctx.uow() as uow:
        await subscriptions.record_start(uow, actor, dispatcher, field_name, arguments,
                                         ctx.stores.settings.subscriptions_per_identity)
    operation = OPERATION.get()
    try:
        if operation is None:
            async for change in subscriptions.changes(
                    dispatcher, ctx.stores.read, ctx.stores.cursor_key, actor, stream, after,
                    wanted.matches):
                ctx.fresh_loaders()
                yield change
                await ctx.flush_reads()
            return
        async for change in _grouped(ctx, actor, operation, stream, after, wanted):
            yield change
    except SubscriberTooSlow:
        await ctx.close_socket(TOO_SLOW, "subscriber too slow: resume with `after`")


async def _grouped(ctx: Context, actor: Actor, operation: Operation, stream: str,
                   after: str | None, wanted: StreamFilter) -> AsyncIterator[Change]:
    """Replayed changes go through this subscriber's own run; live ones arrive rendered."""
    dispatcher = ctx.dispatcher
    assert dispatcher is not None  # noqa: S101 - checked by the caller
    subscription = Subscription(
        stream, after, wanted.matches, (replace(actor, session_id=None), operation.key),
        lambda: GroupRenderer(ctx, actor, operation),
        ctx.stores.settings.subscription_queue_limit)
    prefix = '{"id":' + json.dumps(operation.id) + ',"type":"next","payload":'
    async for found in subscription_groups.changes(
            dispatcher, ctx.stores.read, ctx.stores.cursor_key, actor, subscription):
        if isinstance(found, Change):
            ctx.fresh_loaders()
            yield found
        else:
            await ctx.send_text(prefix + found.payload + "}")
            ctx.add_notes(found.notes)
        await ctx.flush_reads()
