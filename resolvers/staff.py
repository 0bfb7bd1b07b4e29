"""Names of our staff users, batched per request."""

from __future__ import annotations

import uuid

from resolvers.context import Context
from services.staff import StaffRecord


async def name(ctx: Context, user_id: uuid.UUID) -> str | None:
    return await ctx.loaders.staff_name.load(user_id)


async def record(ctx: Context, user_id: uuid.UUID) -> StaffRecord | None:
    return await ctx.loaders.staff.load(user_id)
