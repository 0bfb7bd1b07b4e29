"""Role and user administration bindings."""

from __future__ import annotations

from auth.actor import Clearance
from relational.identity_models import Role, User
from resolvers.context import Context
from resolvers.ids import from_global_id
from services import roles, users
from services.roles import RoleDraft
from services.users import UserChanges


async def upsert(ctx: Context, draft: RoleDraft) -> Role:
    async with await ctx.uow() as uow:
        return await roles.upsert(uow, await ctx.actor(), draft)


async def create_user(ctx: Context, username: str, password: str, display_name: str,
                      roles_: list[str], clearance: Clearance, regions: list[str]) -> User:
    async with await ctx.uow() as uow:
        return await users.admin_create(uow, await ctx.actor(), username, password,
                                        display_name=display_name, roles=roles_,
                                        clearance=clearance, regions=regions)


async def update_user(ctx: Context, global_id: str, changes: UserChanges) -> User:
    user_id = from_global_id(global_id, "User", "id")
    async with await ctx.uow() as uow:
        return await users.admin_update(uow, await ctx.actor(), user_id, changes)
