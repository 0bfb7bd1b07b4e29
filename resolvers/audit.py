"""Audit trail bindings (auditors only)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from resolvers.context import Context
from services import audit
from services.audit import TrailEntry, TrailFilter
from services.pagination import Page


async def trail(ctx: Context, query: TrailFilter, first: int | None,
                after: str | None) -> Page[TrailEntry]:
    return await audit.trail(ctx.stores.read, ctx.stores.cursor_key, await ctx.actor(),
                                   query, first, after)


async def count(ctx: Context, query: TrailFilter) -> int:
    return await audit.count(ctx.stores.read, await ctx.actor(), query)


async def export(ctx: Context, query: TrailFilter) -> AsyncIterator[str]:
    return audit.export_csv(ctx.stores.read, await ctx.actor(), query)
