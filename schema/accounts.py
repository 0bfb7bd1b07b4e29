"""Account types, inputs and payloads."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import relay

from auth.actor import Clearance
from resolvers import accounts as resolve
from resolvers import contacts as resolve_contacts
from resolvers import groups as resolve_groups
from resolvers import supply as resolve_supply
from resolvers import tag_rules as resolve_tags
from resolvers.context import Context
from resolvers.ids import to_global_id
from schema.common import AfterArg, FirstArg, OrderDirection, edges, page_info
from schema.directives import ClassificationLevel, guard
from schema.writes import GraphWrite
from services import vocabulary
from services.accounts import AccountChanges, AccountDraft, AccountRecord, AccountSearch
from services.vocabulary import LifecycleStage, SupplyDirection, ValueTier

if TYPE_CHECKING:
    from schema.contacts import ContactConnection
    from schema.decisions import CommitteeMember, DecisionMap
    from schema.groups import GroupTree, Shareholding
    from schema.interactions import InteractionConnection
    from schema.supply import Disruption, SupplyLink
    from services.vocabulary import InteractionChannel

Info = strawberry.Info[Context, None]


# The services' enum, registered with its GraphQL description (strawberry marks the class).
strawberry.enum(LifecycleStage, name="LifecycleStage",
                description="Where the company stands in its relationship with us.")


strawberry.enum(ValueTier, name="ValueTier", description="Value tier, A highest.")


@strawberry.type(description="A tag of an account and where it comes from.")
class AccountTag:
    name: str = strawberry.field(description="The tag.")
    rule: str | None = strawberry.field(description="The tag rule that set it; null: by hand.")
    set_at: datetime | None = strawberry.field(description="When the rule set it (UTC).")


@strawberry.interface(description="An account as seen in a relationship traversal: either the "
                                   "Account, or a stub when it is outside the reader's scope.")
class AccountRef:
    id: strawberry.ID = strawberry.field(description="Global id.")
    restricted: bool = strawberry.field(
        description="True for a stub of an account the reader may not see.")


@strawberry.type(description="An account outside the reader's scope: only its id, so the shape "
                             "of a group is not falsified and nothing else leaks.")
class RestrictedAccount(AccountRef):
    pass


@strawberry.type(description="A customer company: one legal entity, identified by its USCC.")
class Account(relay.Node, AccountRef):
    id: relay.NodeID[str]  # type: ignore[assignment]  # the Node global id satisfies AccountRef
    restricted: bool = strawberry.field(default=False, description="Always false.")
    classification: ClassificationLevel = strawberry.field(
        description="Who may see the account: readers cleared for this level.")
    name: str = strawberry.field(description="Registered name.")
    uscc: str = strawberry.field(description="统一社会信用代码 (GB 32100-2015).")
    region: str = strawberry.field(description="Sales region, e.g. 华东.")
    industry: str = strawberry.field(description="Industry.")
    lifecycle_stage: LifecycleStage = strawberry.field(description="Lifecycle stage.")
    value_tier: ValueTier | None = strawberry.field(
        description="A/B/C/D from the value-tier rule (README); null until computed.")
    annual_revenue: Decimal | None = strawberry.field(
        description="Annual revenue in the reporting currency (CNY).",
        extensions=guard(level=ClassificationLevel.INTERNAL))
    created_at: datetime = strawberry.field(description="When the account was created (UTC).")
    updated_at: datetime = strawberry.field(description="Last change (UTC).")
    row: strawberry.Private[AccountRecord]

    @classmethod
    def from_row(cls, row: AccountRecord) -> Account:
        return cls(
            id=str(row.id), name=row.name, uscc=row.uscc, region=row.region,
            industry=row.industry, lifecycle_stage=LifecycleStage(row.lifecycle_stage),
            value_tier=ValueTier(row.value_tier) if row.value_tier else None,
            annual_revenue=row.annual_revenue, created_at=row.created_at,
            updated_at=row.updated_at, row=row,
            classification=ClassificationLevel(row.classification.name),
        )

    @classmethod
    def maybe(cls, row: AccountRecord | None) -> Account | None:
        return None if row is None else cls.from_row(row)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Account | None]:
        rows = await resolve.accounts_by_uuid(
            info.context, [_uuid_or_none(node_id) for node_id in node_ids])
        return [cls.maybe(row) for row in rows]

    @strawberry.field(description="Tags, each with the rule that set it and when (a tag set "
                                  "by hand has neither).")
    async def tags(self, info: Info) -> list[AccountTag]:
        return [AccountTag(name=tag.name, rule=tag.rule, set_at=tag.set_at)
                for tag in await resolve_tags.tags(info.context, self.row)]

    @strawberry.field(description="Contacts at this company, by name.",
                      extensions=guard("contact:read"))
    async def contacts(
        self, info: Info, first: FirstArg = 20, after: AfterArg = None
    ) -> Annotated[ContactConnection, strawberry.lazy("schema.contacts")]:
        from schema.contacts import ContactConnection

        page = await resolve_contacts.page_of(info.context, self.row, first, after)
        return ContactConnection.of(page, self.row)

    @strawberry.field(description="The buying committee, its ties and our staff's reach on a "
                                  "date (today if omitted): one graph query plus stored scores.",
                      extensions=guard("relationship:read"))
    async def decision_map(
        self, info: Info, as_of: Annotated[date | None, strawberry.argument(
            description="Show the map as it was on this day.")] = None,
    ) -> Annotated[DecisionMap, strawberry.lazy("schema.decisions")]:
        from schema.decisions import account_decision_map

        return await account_decision_map(info, self.row.id, as_of)

    @strawberry.field(description="The buying committee on a date (today if omitted).",
                      extensions=guard("relationship:read"))
    async def committee(
        self, info: Info, as_of: Annotated[date | None, strawberry.argument(
            description="Members on this day.")] = None,
    ) -> list[Annotated[CommitteeMember, strawberry.lazy("schema.decisions")]]:
        from schema.decisions import account_committee

        return await account_committee(info, self.row.id, as_of)

    @strawberry.field(description="Interactions of our staff with this company, newest first.",
                      extensions=guard("interaction:read"))
    async def interactions(
        self, info: Info, first: FirstArg = 20, after: AfterArg = None,
        channel: Annotated[Annotated[InteractionChannel, strawberry.lazy(
            "schema.interactions")] | None, strawberry.argument(
            description="Only this channel.")] = None,
        since: Annotated[date | None, strawberry.argument(
            description="From this day (UTC).")] = None,
        until: Annotated[date | None, strawberry.argument(
            description="Up to this day (UTC), inclusive.")] = None,
    ) -> Annotated[InteractionConnection, strawberry.lazy("schema.interactions")]:
        from schema.interactions import account_interactions, wanted_of

        return await account_interactions(info, self.row.id, first, after,
                                          wanted_of(channel, since, until))

    @strawberry.field(description="The controlling shareholder (largest stake), if any.")
    async def parent(self, info: Info) -> AccountRef | None:
        found = await resolve_groups.parent_id(info.context, self.row)
        return None if found is None else await account_ref(info, found)

    @strawberry.field(description="Top of the chain of controlling shareholders.")
    async def ultimate_parent(self, info: Info) -> AccountRef | None:
        found = await resolve_groups.ultimate_parent_id(info.context, self.row)
        return None if found is None else await account_ref(info, found)

    @strawberry.field(description="Direct shareholders within our accounts, largest first.")
    async def shareholders(
        self, info: Info
    ) -> list[Annotated[Shareholding, strawberry.lazy("schema.groups")]]:
        from schema.groups import Shareholding

        return await Shareholding.list_of(info, self.row)

    @strawberry.field(description="Ancestors up to the top and descendants down to `depth` "
                                  "levels, each with its effective ownership.")
    async def group_tree(
        self, info: Info,
        depth: Annotated[int | None, strawberry.argument(
            description="Levels of descendants, 1 to 32.")] = 3,
    ) -> Annotated[GroupTree, strawberry.lazy("schema.groups")]:
        from schema.groups import GroupTree

        return await GroupTree.of(info, *await resolve_groups.tree(info.context, self.row, depth))

    @strawberry.field(description="Annual revenue of this company plus every visible "
                                  "descendant's, weighted by effective ownership (CNY).",
                      extensions=guard(level=ClassificationLevel.INTERNAL))
    async def group_revenue(self, info: Info) -> Decimal | None:
        return await resolve_groups.group_revenue(info.context, self.row)

    @strawberry.field(description="Suppliers (UPSTREAM) or customers (DOWNSTREAM) tier by "
                                  "tier: every SUPPLIES edge valid on `asOf` leading away from "
                                  "this account within `depth` tiers, nearest first.",
                      extensions=guard("account:read"))
    async def supply_chain(
        self, info: Info,
        direction: Annotated[SupplyDirection, strawberry.argument(
            description="Towards suppliers or towards customers.")],
        depth: Annotated[int | None, strawberry.argument(
            description="Tiers to follow, 1 to 5.")] = 3,
        as_of: Annotated[date | None, strawberry.argument(
            description="The day the edges must be valid on; today (UTC) if not given.")]
        = None,
    ) -> list[Annotated[SupplyLink, strawberry.lazy("schema.supply")]]:
        from schema.supply import SupplyLink

        links = await resolve_supply.chain(info.context, self.row, direction, depth, as_of)
        return await SupplyLink.list_of(info, links)

    @strawberry.field(description="Why and since when this account cannot deliver; null when "
                                  "it is not disrupted.", extensions=guard("account:read"))
    def disruption(self) -> Annotated[Disruption, strawberry.lazy("schema.supply")] | None:
        from schema.supply import Disruption

        return Disruption.maybe(self.row.disruption)


async def account_ref(info: Info, account_id: str | uuid.UUID) -> AccountRef:
    """The account, or a restricted stub when the reader may not see it."""
    row = await resolve.account_by_uuid(info.context, account_id)
    return restricted_account(account_id) if row is None else Account.from_row(row)


def restricted_account(account_id: str | uuid.UUID) -> RestrictedAccount:
    """The stub of an account the reader may not see: its id only."""
    return RestrictedAccount(id=strawberry.ID(to_global_id("Account", account_id)),
                             restricted=True)


async def account_refs(info: Info, account_ids: Iterable[str]) -> dict[str, AccountRef]:
    """`account_ref` of many ids at once (one batched load): for lists that hand their
    accounts out as plain values rather than one resolver per item."""
    wanted = list(dict.fromkeys(account_ids))
    rows = await resolve.accounts_by_uuid(info.context, [uuid.UUID(key) for key in wanted])
    return {key: Account.from_row(row) if row is not None else restricted_account(key)
            for key, row in zip(wanted, rows, strict=True)}


def _uuid_or_none(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


@strawberry.type(description="A page of accounts.")
class AccountConnection(relay.Connection[Account]):
    query: strawberry.Private[AccountSearch]

    @strawberry.field(description="Number of accounts matching the filter (all pages).")
    async def total_count(self, info: Info) -> int:
        return await resolve.count(info.context, self.query)


@strawberry.enum(description="Account sort keys.")
class AccountOrderField(Enum):
    NAME = "name"
    CREATED_AT = "created_at"
    ANNUAL_REVENUE = "annual_revenue"


@strawberry.input(description="Account list filter; all given conditions must hold.")
class AccountFilter:
    name_contains: str | None = strawberry.field(default=None,
                                                 description="Case-insensitive substring.")
    region: str | None = strawberry.field(default=None, description="Exact region.")
    industry: str | None = strawberry.field(default=None, description="Exact industry.")
    lifecycle_stage: LifecycleStage | None = strawberry.field(default=None,
                                                              description="Stage.")
    tag: str | None = strawberry.field(default=None, description="Has this tag.")


@strawberry.input(description="Account list order.")
class AccountOrder:
    field: AccountOrderField = strawberry.field(default=AccountOrderField.NAME,
                                                description="Sort key.")
    direction: OrderDirection = strawberry.field(default=OrderDirection.ASC,
                                                 description="Direction.")


async def accounts_connection(
    info: Info, filter: AccountFilter | None, order_by: AccountOrder | None,
    first: int | None, after: str | None,
) -> AccountConnection:
    given = filter or AccountFilter()
    order = order_by or AccountOrder()
    query = resolve.query_of(
        name_contains=given.name_contains, region=given.region, industry=given.industry,
        lifecycle_stage=given.lifecycle_stage.value if given.lifecycle_stage else None,
        tag=given.tag, sort=order.field.value, descending=order.direction is OrderDirection.DESC,
    )
    page = await resolve.search(info.context, query, first, after)
    return AccountConnection(page_info=page_info(page), edges=edges(page, Account.from_row),
                             query=query)



@strawberry.input(description="A new account.")
class AccountCreateInput:
    name: str = strawberry.field(description="Registered name.")
    uscc: str = strawberry.field(description="统一社会信用代码, 18 characters.")
    region: str = strawberry.field(description=f"One of {' '.join(vocabulary.REGIONS)}.")
    industry: str = strawberry.field(description="Industry.")
    lifecycle_stage: LifecycleStage = strawberry.field(default=vocabulary.DEFAULT_LIFECYCLE_STAGE,
                                                       description="Stage; POTENTIAL if not given.")
    tags: list[str] = strawberry.field(default_factory=list, description="Tags.")
    annual_revenue: Decimal | None = strawberry.field(default=None,
                                                      description="Annual revenue (CNY).")
    classification: ClassificationLevel = strawberry.field(
        default=ClassificationLevel.INTERNAL,
        description="Who may see it; at most your own clearance.")
    idempotency_key: str | None = strawberry.field(
        default=None, description="Makes the create safe to retry: a retry with the same key "
                                  "(by the same user, within the retention) answers the first "
                                  "result; the same key with a different input is refused.")

    def draft(self) -> AccountDraft:
        return AccountDraft(
            name=self.name, uscc=self.uscc, region=self.region, industry=self.industry,
            lifecycle_stage=self.lifecycle_stage.value, tags=self.tags,
            annual_revenue=self.annual_revenue,
            classification=Clearance[self.classification.value])


@strawberry.input(description="Changes to an account; omitted fields stay as they are.")
class AccountUpdateInput:
    id: strawberry.ID = strawberry.field(description="The account.")
    name: str | None = strawberry.field(default=None, description="Registered name.")
    uscc: str | None = strawberry.field(default=None, description="统一社会信用代码.")
    region: str | None = strawberry.field(default=None, description="Region.")
    industry: str | None = strawberry.field(default=None, description="Industry.")
    lifecycle_stage: LifecycleStage | None = strawberry.field(default=None, description="Stage.")
    tags: list[str] | None = strawberry.field(default=None, description="Replaces the tags.")
    annual_revenue: Decimal | None = strawberry.field(default=None,
                                                      description="Annual revenue (CNY).")
    classification: ClassificationLevel | None = strawberry.field(
        default=None, description="Who may see it; at most your own clearance.")

    def changes(self) -> AccountChanges:
        return AccountChanges(
            name=self.name, uscc=self.uscc, region=self.region, industry=self.industry,
            lifecycle_stage=self.lifecycle_stage.value if self.lifecycle_stage else None,
            tags=self.tags, annual_revenue=self.annual_revenue,
            classification=Clearance[self.classification.value] if self.classification
            else None)


@strawberry.type(description="Result of accountCreate.")
class AccountCreatePayload(GraphWrite):
    account: Account = strawberry.field(description="The new account.")


@strawberry.type(description="Result of accountUpdate.")
class AccountUpdatePayload(GraphWrite):
    account: Account = strawberry.field(description="The account after the change.")


async def account_create(info: Info, input: AccountCreateInput) -> AccountCreatePayload:
    row = await resolve.create(info.context, input.draft(), input.idempotency_key)
    return AccountCreatePayload(account=Account.from_row(row))


async def account_update(info: Info, input: AccountUpdateInput) -> AccountUpdatePayload:
    row = await resolve.update(info.context, str(input.id), input.changes())
    return AccountUpdatePayload(account=Account.from_row(row))
