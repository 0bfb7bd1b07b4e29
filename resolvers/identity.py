"""Identity bindings: login, refresh, logout, me, API tokens."""

from __future__ import annotations

from resolvers.context import Context
from resolvers.ids import from_global_id
from services import api_tokens, identity
from services.api_tokens import ApiTokenRecord, IssuedToken
from services.identity import Session


async def login(ctx: Context, username: str, password: str) -> Session:
    async with ctx.anonymous_uow(username) as uow:
        return await identity.login(uow, ctx.stores.settings, username, password)


async def refresh(ctx: Context, refresh_token: str) -> Session:
    async with ctx.anonymous_uow("refresh") as uow:
        return await identity.refresh(uow, ctx.stores.settings, refresh_token)


async def logout(ctx: Context) -> None:
    async with await ctx.uow() as uow:
        await identity.logout(uow, await ctx.actor())


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
