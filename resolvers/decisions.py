"""Decision map, committee and introduction path bindings."""

from __future__ import annotations

import uuid
from datetime import date

from resolvers.context import Context
from resolvers.ids import from_global_id
from services import clock, committees, decision_maps, introductions
from services.committees import MemberRecord
from services.decision_maps import DecisionMap
from services.introductions import IntroductionPath


async def decision_map(ctx: Context, account_id: uuid.UUID, as_of: date | None,
                       opportunity_id: uuid.UUID | None = None) -> DecisionMap:
    """The account's committee, or (with `opportunity_id`, a deal the caller has loaded) the
    deal's."""
    stores = ctx.stores
    return await decision_maps.decision_map(stores.read, stores.graph, stores.cipher,
                                            await ctx.actor(), account_id, as_of, clock.today(),
                                            opportunity_id)


async def member_add(ctx: Context, account_id: str, contact_id: str, role: str,
                     roles: list[str], stance: str | None,
                     opportunity_id: str | None, valid_from: date | None) -> MemberRecord:
    account = from_global_id(account_id, "Account", "accountId")
    contact = from_global_id(contact_id, "Contact", "contactId")
    opportunity = None if opportunity_id is None else from_global_id(
        opportunity_id, "Opportunity", "opportunityId")
    async with await ctx.uow() as uow:
        return await committees.add(uow, await ctx.actor(), account, contact, role, roles,
                                    stance, opportunity, clock.today(), valid_from)


async def member_update(ctx: Context, member_id: str, role: str | None,
                        roles: list[str] | None, stance: str | None) -> MemberRecord:
    key = from_global_id(member_id, "CommitteeMember", "memberId")
    async with await ctx.uow() as uow:
        return await committees.update(uow, await ctx.actor(), key, role, roles, stance)


async def member_remove(ctx: Context, member_id: str) -> MemberRecord:
    key = from_global_id(member_id, "CommitteeMember", "memberId")
    async with await ctx.uow() as uow:
        return await committees.remove(uow, await ctx.actor(), key, clock.today())


async def introduction_paths(ctx: Context, to: str, start: str | None, max_hops: int | None,
                             first: int | None, as_of: date | None) -> list[IntroductionPath]:
    target = from_global_id(to, "Contact", "to")
    origin = None if start is None else from_global_id(start, "User", "from")
    return await introductions.paths(ctx.stores.read, ctx.stores.graph, await ctx.actor(),
                                     target, origin, max_hops, first, as_of, clock.today())
