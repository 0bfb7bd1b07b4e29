"""Identity bindings: login, refresh, logout, me, API tokens, user / role / department
administration, step-up verification."""

from __future__ import annotations

from dataclasses import replace

from auth.actor import Clearance
from resolvers.context import Context
from resolvers.ids import from_global_id
from services.identity import api_tokens, departments, roles, sessions, step_up, users
from services.identity.api_tokens import ApiTokenRecord, IssuedToken
from services.identity.departments import DepartmentRecord
from services.identity.roles import RoleDraft, RoleRecord
from services.identity.sessions import Session
from services.identity.step_up import Challenge, StepUpMethod, TotpEnrolment
from services.identity.users import UserChanges, UserRecord


async def login(ctx: Context, username: str, password: str) -> Session:
    async with ctx.anonymous_uow(username) as uow:
        return await sessions.login(uow, ctx.stores.settings, username, password)


async def refresh(ctx: Context, refresh_token: str) -> Session:
    async with ctx.anonymous_uow("refresh") as uow:
        return await sessions.refresh(uow, ctx.stores.settings, refresh_token)


async def logout(ctx: Context) -> None:
    async with await ctx.uow() as uow:
        await sessions.logout(uow, await ctx.actor())


async def create_api_token(ctx: Context, name: str, permissions: list[str]) -> IssuedToken:
    async with await ctx.uow() as uow:
        return await api_tokens.create(uow, await ctx.actor(), name, permissions)


async def revoke_api_token(ctx: Context, global_id: str) -> ApiTokenRecord:
    token_id = from_global_id(global_id, "ApiToken", "id")
    async with await ctx.uow() as uow:
        return await api_tokens.revoke(uow, await ctx.actor(), token_id)


async def list_api_tokens(ctx: Context) -> list[ApiTokenRecord]:
    async with await ctx.uow() as uow:
        return await api_tokens.listing(uow, await ctx.actor())


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


async def totp_enabled(ctx: Context) -> bool:
    return await step_up.totp_enabled(ctx.stores.read, await ctx.actor())


async def totp_enrol(ctx: Context) -> TotpEnrolment:
    async with await ctx.uow() as uow:
        return await step_up.totp_enrol(uow, ctx.stores.cipher, ctx.stores.settings,
                                        await ctx.actor())


async def totp_confirm(ctx: Context, code: str) -> None:
    async with await ctx.uow() as uow:
        await step_up.totp_confirm(uow, ctx.stores.cipher, ctx.stores.settings, await ctx.actor(),
                                   code)


async def start(ctx: Context, method: StepUpMethod) -> Challenge:
    async with await ctx.uow() as uow:
        return await step_up.start(uow, ctx.stores.cipher, ctx.stores.settings, await ctx.actor(),
                                   method)


async def verify(ctx: Context, method: StepUpMethod, code: str) -> None:
    async with await ctx.uow() as uow:
        await step_up.verify(uow, ctx.stores.cipher, ctx.stores.settings, await ctx.actor(),
                             method, code)
