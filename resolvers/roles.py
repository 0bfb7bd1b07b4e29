"""Role and user administration bindings."""

from __future__ import annotations

from dataclasses import replace

from auth.actor import Clearance
from resolvers.context import Context
from resolvers.ids import from_global_id
from services import departments, roles, users
from services.departments import DepartmentRecord
from services.roles import RoleDraft, RoleRecord
from services.users import UserChanges, UserRecord


async def upsert(ctx: Context, draft: RoleDraft) -> RoleRecord:
    async with await ctx.uow() as uow:
        return await roles.upsert(uow, await ctx.actor(), draft)


async def create_user(ctx: Context, username: str, password: str, display_name: str,
                      roles_: list[str], clearance: Clearance, regions: list[str],
                      department_ids: list[str], phone: str | None = None) -> UserRecord:
    departments_ = [from_global_id(value, "Department", "departmentIds")
                    for value in department_ids]
    async with await ctx.uow() as uow:
        return await users.admin_create(uow, await ctx.actor(), username, password,
                                        display_name=display_name, roles=roles_,
                                        clearance=clearance, regions=regions,
                                        departments=departments_, phone=phone,
                                        cipher=ctx.stores.cipher)


async def create_department(ctx: Context, name: str, parent_id: str | None) -> DepartmentRecord:
    parent = None if parent_id is None else from_global_id(parent_id, "Department", "parentId")
    async with await ctx.uow() as uow:
        return await departments.create(uow, await ctx.actor(), name, parent)


async def list_departments(ctx: Context) -> list[DepartmentRecord]:
    return await departments.listing(ctx.stores.read, await ctx.actor())


async def update_user(ctx: Context, global_id: str, changes: UserChanges,
                      department_ids: list[str] | None) -> UserRecord:
    user_id = from_global_id(global_id, "User", "id")
    if department_ids is not None:
        changes = replace(changes, departments=[
            from_global_id(value, "Department", "departmentIds") for value in department_ids])
    async with await ctx.uow() as uow:
        return await users.admin_update(uow, await ctx.actor(), user_id, changes,
                                        ctx.stores.cipher)
