"""Audit trail bindings (auditors only)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from relational.repositories.audit import TrailQuery
from resolvers.context import Context
from services import audit_trail
from services.audit_trail import TrailEntry
from services.pagination import Page


async def trail(ctx: Context, query: TrailQuery, first: int | None,
                after: str | None) -> Page[TrailEntry]:
    return await audit_trail.trail(ctx.stores.read, ctx.stores.cursor_key, await ctx.actor(),
                                   query, first, after)


async def count(ctx: Context, query: TrailQuery) -> int:
    return await audit_trail.count(ctx.stores.read, await ctx.actor(), query)


async def export(ctx: Context, query: TrailQuery) -> AsyncIterator[str]:
    return audit_trail.export_csv(ctx.stores.read, await ctx.actor(), query)
