"""Group structure types: trees, shareholdings, link/unlink mutations."""

from __future__ import annotations

import uuid
from decimal import Decimal

import strawberry

from resolvers import accounts as resolve_accounts
from resolvers import groups as resolve
from schema.accounts import (
    Account,
    AccountRef,
    Info,
    account_ref,
    account_refs,
    restricted_account,
)
from schema.directives import guard
from schema.writes import GraphWrite
from services.accounts import AccountRecord
from services.groups import GroupMembers, ShareholdingRecord
from services.groups import GroupTree as GroupTreeResult


@strawberry.type(description="An account in a group tree, seen from the tree's root.")
class GroupMember:
    account: AccountRef = strawberry.field(
        description="The account, or a restricted stub outside your scope.")
    depth: int = strawberry.field(description="Levels between this account and the root.")
    effective_ownership: Decimal = strawberry.field(
        description="Effective ownership in % (\"60.000000\" means 60 %): the product of the "
                    "shares along each path, summed over all paths, computed exactly and "
                    "rounded half-even to six decimal places (33.33 % of 33.33 % is "
                    "\"11.108889\"). For an ancestor: its stake in the root; for a "
                    "descendant: the root's stake in it.")


@strawberry.type(description="The group structure around an account.")
class GroupTree:
    ancestors: list[GroupMember] = strawberry.field(
        description="Shareholders, their shareholders, … up to the top, nearest first.")
    descendants: list[GroupMember] = strawberry.field(
        description="Subsidiaries down to the requested depth, nearest first.")

    @classmethod
    async def of(cls, info: Info, tree: GroupTreeResult, members: GroupMembers) -> GroupTree:
        # The descendants come with their records (one scoped read for the whole group), the
        # few ancestors through the account loader; then plain values: a tree of thousands
        # of companies resolves no field one member at a time.
        up = await account_refs(info, (relative.account_id for relative in tree.ancestors))

        def ref(account_id: str) -> AccountRef:
            record = members.visible.get(account_id)
            return restricted_account(account_id) if record is None else Account.from_row(record)

        return cls(
            ancestors=[GroupMember(account=up[relative.account_id], depth=relative.depth,
                                   effective_ownership=relative.effective_ownership)
                       for relative in tree.ancestors],
            descendants=[GroupMember(account=ref(relative.account_id), depth=relative.depth,
                                     effective_ownership=relative.effective_ownership)
                         for relative in tree.descendants])


@strawberry.type(description="A direct shareholding of one company in another.")
class Shareholding:
    holder_id: strawberry.Private[str]
    share_pct: Decimal = strawberry.field(
        description="Stake in %, four decimal places (\"60.0000\" means 60 %).")

    @classmethod
    async def list_of(cls, info: Info, row: AccountRecord) -> list[Shareholding]:
        pairs = await resolve.shareholders(info.context, row)
        return [cls(holder_id=holder, share_pct=share) for holder, share in pairs]

    @strawberry.field(description="The shareholder, or a restricted stub outside your scope.")
    async def holder(self, info: Info) -> AccountRef:
        return await account_ref(info, self.holder_id)


@strawberry.input(description="Make `parentId` a shareholder of `childId`, or change its stake.")
class AccountLinkParentInput:
    child_id: strawberry.ID = strawberry.field(description="The owned company.")
    parent_id: strawberry.ID = strawberry.field(description="The shareholder.")
    share_pct: Decimal = strawberry.field(
        description="Stake in % (0 < sharePct ≤ 100, at most four decimal places).")
    idempotency_key: str | None = strawberry.field(
        default=None, description="Makes the link safe to retry: a retry with the same key "
                                  "(by the same user, within the retention) answers the first "
                                  "result; the same key with a different input is refused.")


@strawberry.input(description="Remove a shareholding.")
class AccountUnlinkParentInput:
    child_id: strawberry.ID = strawberry.field(description="The owned company.")
    parent_id: strawberry.ID = strawberry.field(description="The shareholder.")


@strawberry.type(description="Result of accountLinkParent / accountUnlinkParent.")
class AccountParentPayload(GraphWrite):
    child_id: strawberry.Private[uuid.UUID]
    parent_id: strawberry.Private[uuid.UUID]
    share_pct: Decimal = strawberry.field(
        description="The stake in % (after linking, or removed), four decimal places.")

    @classmethod
    def of(cls, edge: ShareholdingRecord) -> AccountParentPayload:
        return cls(child_id=edge.child_id, parent_id=edge.parent_id, share_pct=edge.share_pct)

    @strawberry.field(description="The owned company (the child).",
                      extensions=guard("account:read"))
    async def account(self, info: Info) -> Account:
        return await _account(info, self.child_id)

    @strawberry.field(description="The shareholder (the parent).",
                      extensions=guard("account:read"))
    async def parent(self, info: Info) -> Account:
        return await _account(info, self.parent_id)


async def _account(info: Info, account_id: uuid.UUID) -> Account:
    return Account.from_row(await resolve_accounts.require(info.context, account_id))


async def account_link_parent(info: Info, input: AccountLinkParentInput) -> AccountParentPayload:
    edge = await resolve.link_parent(info.context, str(input.child_id), str(input.parent_id),
                                     input.share_pct, input.idempotency_key)
    return AccountParentPayload.of(edge)


async def account_unlink_parent(
    info: Info, input: AccountUnlinkParentInput
) -> AccountParentPayload:
    edge = await resolve.unlink_parent(info.context, str(input.child_id), str(input.parent_id))
    return AccountParentPayload.of(edge)
