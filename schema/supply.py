"""Supply-chain types: links with tiers, disruptions, exposure to a supplier's failure."""

from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal
from typing import Annotated

import strawberry

import schema.relationships  # noqa: F401  # registers Criticality before SupplyLink uses it
from resolvers import supply as resolve
from resolvers.ids import to_global_id
from schema.accounts import Account, AccountRef, Info, account_ref
from schema.directives import guard
from schema.writes import GraphWrite, Settle
from services.accounts import Disruption as DisruptionRecord
from services.supply import MAX_TIER, Exposed, Link, SupplyEdge
from services.vocabulary import Criticality, SupplyDirection

# The services' enum, registered with its GraphQL description (strawberry marks the class).
strawberry.enum(SupplyDirection, name="SupplyDirection",
                description="UPSTREAM: suppliers and theirs; DOWNSTREAM: customers and theirs.")


def _account_id(raw: str) -> strawberry.ID:
    return strawberry.ID(to_global_id("Account", raw))


@strawberry.type(description="Why an account (a supplier) cannot deliver, and since when.")
class Disruption:
    reason: str = strawberry.field(description="What happened, as recorded.")
    since: date = strawberry.field(description="First day of the disruption.")

    @classmethod
    def maybe(cls, record: DisruptionRecord | None) -> Disruption | None:
        return None if record is None else cls(reason=record.reason, since=record.since)


@strawberry.type(description="A SUPPLIES edge of a supply chain, seen from the chain's root: "
                             "`account` is its far end, `tier` that account's distance.")
class SupplyLink:
    account_id: strawberry.Private[str]
    tier: int = strawberry.field(description="Hops between the root and `account` (1: a "
                                             "direct supplier or customer).")
    from_id: strawberry.ID = strawberry.field(description="The supplier (global id).")
    to_id: strawberry.ID = strawberry.field(description="The buyer (global id).")
    criticality: Criticality = strawberry.field(description="The buyer's dependence.")
    share: Decimal | None = strawberry.field(
        description="Share of the buyer's need in % (\"40.00\" means 40 %); null if unknown.")
    products: list[str] = strawberry.field(description="What is supplied.")

    @classmethod
    def of(cls, link: Link[SupplyEdge]) -> SupplyLink:
        edge = link.edge
        return cls(account_id=link.account_id, tier=link.tier,
                   from_id=_account_id(edge.supplier_id), to_id=_account_id(edge.buyer_id),
                   criticality=Criticality(edge.criticality), share=edge.share_pct,
                   products=list(edge.products))

    @strawberry.field(description="The account at the far end, or a restricted stub outside "
                                  "your scope.")
    async def account(self, info: Info) -> AccountRef:
        return await account_ref(info, self.account_id)


@strawberry.type(description="A customer exposed to a supplier's failure (DebtRank: the "
                             "impacts criticality × share compound along each path).")
class Exposure:
    account_id: strawberry.Private[str]
    path_ids: strawberry.Private[tuple[str, ...]]
    tier: int = strawberry.field(description="The round the failure first reaches the "
                                             "account: its distance from the supplier.")
    score: float = strawberry.field(description="Distress in [0, 1] after `maxTier` rounds "
                                                "(1: the whole need is lost).")

    @classmethod
    def of(cls, item: Exposed) -> Exposure:
        return cls(account_id=item.account_id, path_ids=item.path, tier=item.tier,
                   score=item.score)

    @strawberry.field(description="The exposed account, or a restricted stub outside your "
                                  "scope.")
    async def account(self, info: Info) -> AccountRef:
        return await account_ref(info, self.account_id)

    @strawberry.field(description="From the failing supplier to this account, each step the "
                                  "largest contribution that first reached the next account; "
                                  "accounts outside your scope are restricted stubs.")
    async def path(self, info: Info) -> list[AccountRef]:
        return list(await asyncio.gather(*(account_ref(info, account_id)
                                           for account_id in self.path_ids)))


TierArg = Annotated[int | None, strawberry.argument(
    description=f"Tiers of customers to follow, 1 to {MAX_TIER}.")]
AsOfArg = Annotated[date | None, strawberry.argument(
    description="The day the SUPPLIES edges must be valid on; today (UTC) if not given.")]


@strawberry.type
class SupplyQueries:
    @strawberry.field(description="The customers the failure of a supplier reaches, by tier "
                                  "then score, each with the path that explains its score.",
                      extensions=guard("account:read"))
    async def exposure(
        self, info: Info,
        account_id: Annotated[strawberry.ID, strawberry.argument(
            description="The failing supplier.")],
        max_tier: TierArg = 3, as_of: AsOfArg = None,
    ) -> list[Exposure]:
        found = await resolve.exposure(info.context, str(account_id), max_tier, as_of)
        return [Exposure.of(item) for item in found]


@strawberry.input(description="Mark an account disrupted, or change its disruption.")
class AccountMarkDisruptedInput:
    account_id: strawberry.ID = strawberry.field(description="The disrupted account.")
    reason: str = strawberry.field(description="What happened (at most 500 characters).")
    since: date | None = strawberry.field(default=None,
                                          description="First day; today if not given, never "
                                                      "later than today.")


@strawberry.input(description="The account delivers again.")
class AccountClearDisruptionInput:
    account_id: strawberry.ID = strawberry.field(description="The account.")


@strawberry.type(description="Result of accountMarkDisrupted / accountClearDisruption.")
class AccountDisruptionPayload(GraphWrite):
    account: Account = strawberry.field(description="The account after the change.")


async def account_mark_disrupted(info: Info,
                                 input: AccountMarkDisruptedInput) -> AccountDisruptionPayload:
    row = await resolve.mark_disrupted(info.context, str(input.account_id), input.reason,
                                       input.since)
    return AccountDisruptionPayload(account=Account.from_row(row))


async def account_clear_disruption(
    info: Info, input: AccountClearDisruptionInput
) -> AccountDisruptionPayload:
    row = await resolve.clear_disruption(info.context, str(input.account_id))
    return AccountDisruptionPayload(account=Account.from_row(row))


@strawberry.type
class SupplyMutations:
    account_mark_disrupted = strawberry.mutation(
        resolver=account_mark_disrupted,
        description="Mark an account disrupted (it cannot deliver), or change the reason or "
                    "first day of its disruption.",
        extensions=[*guard("account:write", audit_as="account.markDisrupted"), Settle()])
    account_clear_disruption = strawberry.mutation(
        resolver=account_clear_disruption,
        description="Clear an account's disruption (nothing changes if it has none).",
        extensions=[*guard("account:write", audit_as="account.clearDisruption"), Settle()])
