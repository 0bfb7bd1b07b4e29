"""Group structure bindings: ownership links in the ledger, trees read from the graph."""

from __future__ import annotations

from decimal import Decimal

from resolvers.context import Context
from resolvers.ids import from_global_id
from services import groups
from services.accounts import AccountRecord
from services.groups import GroupMembers, GroupTree, ShareholdingRecord


async def link_parent(
    ctx: Context, child_id: str, parent_id: str, share_pct: Decimal, key: str | None = None
) -> ShareholdingRecord:
    child = from_global_id(child_id, "Account", "childId")
    parent = from_global_id(parent_id, "Account", "parentId")
    idempotency_key = ctx.idempotency_key(key)
    async with await ctx.uow() as uow:
        return await groups.link_parent(uow, await ctx.actor(), child, parent, share_pct,
                                        idempotency_key)


async def unlink_parent(ctx: Context, child_id: str, parent_id: str) -> ShareholdingRecord:
    child = from_global_id(child_id, "Account", "childId")
    parent = from_global_id(parent_id, "Account", "parentId")
    async with await ctx.uow() as uow:
        return await groups.unlink_parent(uow, await ctx.actor(), child, parent)


async def parent_id(ctx: Context, account: AccountRecord) -> str | None:
    edges = await ctx.loaders.ancestor_edges.load(str(account.id))
    return groups.parent_of(edges, str(account.id))


async def ultimate_parent_id(ctx: Context, account: AccountRecord) -> str | None:
    edges = await ctx.loaders.ancestor_edges.load(str(account.id))
    return groups.ultimate_parent_of(edges, str(account.id))


async def shareholders(ctx: Context, account: AccountRecord) -> list[tuple[str, Decimal]]:
    edges = await ctx.loaders.ancestor_edges.load(str(account.id))
    direct = [edge for edge in edges if edge.child_id == str(account.id)]
    return [(edge.parent_id, edge.share_pct)
            for edge in sorted(direct, key=lambda edge: (-edge.share_pct, edge.parent_id))]


async def tree(ctx: Context, account: AccountRecord,
               depth: int | None) -> tuple[GroupTree, GroupMembers]:
    """The tree, and the members' records its descendants are shown with."""
    levels = groups.check_depth(depth, ctx.stores.settings.max_group_depth)
    up = await ctx.loaders.ancestor_edges.load(str(account.id))
    members = await ctx.loaders.group_members.load(str(account.id))
    found = groups.tree(up, members.descendants, str(account.id), levels,
                        ctx.stores.settings.max_group_depth)
    return found, members


async def group_revenue(ctx: Context, account: AccountRecord) -> Decimal:
    members = await ctx.loaders.group_members.load(str(account.id))
    return groups.group_revenue(account.annual_revenue, members)
