"""Role administration bindings."""

from __future__ import annotations

from relational.identity_models import Role
from resolvers.context import Context
from services import roles
from services.roles import RoleDraft


async def upsert(ctx: Context, draft: RoleDraft) -> Role:
    async with await ctx.uow() as uow:
        return await roles.upsert(uow, await ctx.actor(), draft)
