"""Interaction bindings."""

from __future__ import annotations

import uuid
from dataclasses import replace

from resolvers.context import Context
from resolvers.ids import from_global_id
from services import clock, interactions
from services.errors import BadUserInput
from services.interactions import InteractionDraft, InteractionList, InteractionRecord
from services.pagination import Page


async def log(ctx: Context, draft: InteractionDraft) -> InteractionRecord:
    async with await ctx.uow() as uow:
        return await interactions.log(uow, await ctx.actor(), ctx.stores.cipher, draft,
                                      clock.today())


def contact_ids(ids: list[str]) -> list[uuid.UUID]:
    return [from_global_id(item, "Contact", "contactIds") for item in ids]


async def of_account(ctx: Context, account_id: uuid.UUID, wanted: InteractionList,
                     first: int | None, after: str | None) -> Page[InteractionRecord]:
    return await ctx.loaders.interaction_page.load((account_id, wanted, first, after))


async def of_contact(ctx: Context, contact_id: uuid.UUID, wanted: InteractionList,
                     first: int | None, after: str | None) -> Page[InteractionRecord]:
    return await interactions.page(ctx.stores.read, ctx.stores.cipher, await ctx.actor(),
                                   replace(wanted, contact_id=contact_id), first, after)


async def user_of(ctx: Context, user_id: str | None) -> uuid.UUID:
    """The staff user a list is about: `user_id`, else the caller."""
    if user_id is not None:
        return from_global_id(user_id, "User", "userId")
    actor = await ctx.actor()
    if actor.user_id is None:
        raise BadUserInput("an API token has no interactions of its own: give `userId`",
                           field="userId")
    return actor.user_id


async def of_user(ctx: Context, user_id: str | None, wanted: InteractionList,
                  first: int | None, after: str | None) -> Page[InteractionRecord]:
    """A staff user's interactions (the caller's own when `user_id` is not given)."""
    key = await user_of(ctx, user_id)
    return await interactions.page(ctx.stores.read, ctx.stores.cipher, await ctx.actor(),
                                   replace(wanted, user_id=key), first, after)


async def count(ctx: Context, wanted: InteractionList) -> int:
    return await ctx.loaders.interaction_count.load(wanted)

