"""Supply-chain types: links with tiers, disruptions, exposure to a supplier's failure."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry

import schema.relationships  # noqa: F401  # registers Criticality before SupplyLink uses it
from resolvers import supply as resolve
from resolvers.ids import to_global_id
from schema.accounts import Account, AccountRef, Info, account_refs
from schema.directives import guard
from schema.writes import GraphWrite, Settle
from services.accounts import Disruption as DisruptionRecord
from services.opportunities import OpportunityRecord
from services.supply import MAX_TIER, Exposed, Link, SupplyEdge
from services.vocabulary import Criticality, SupplyDirection

if TYPE_CHECKING:
    from schema.pipeline_types import Opportunity

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
    account: AccountRef = strawberry.field(
        description="The account at the far end, or a restricted stub outside your scope.")
    tier: int = strawberry.field(description="Hops between the root and `account` (1: a "
                                             "direct supplier or customer).")
    from_id: strawberry.ID = strawberry.field(description="The supplier (global id).")
    to_id: strawberry.ID = strawberry.field(description="The buyer (global id).")
    criticality: Criticality = strawberry.field(description="The buyer's dependence.")
    share: Decimal | None = strawberry.field(
        description="Share of the buyer's need in % (\"40.00\" means 40 %); null if unknown.")
    products: list[str] = strawberry.field(description="What is supplied.")

    @classmethod
    async def list_of(cls, info: Info, links: list[Link[SupplyEdge]]) -> list[SupplyLink]:
        refs = await account_refs(info, (link.account_id for link in links))
        return [cls(account=refs[link.account_id], tier=link.tier,
                    from_id=_account_id(link.edge.supplier_id),
                    to_id=_account_id(link.edge.buyer_id),
                    criticality=Criticality(link.edge.criticality), share=link.edge.share_pct,
                    products=list(link.edge.products)) for link in links]


@strawberry.type(description="A customer exposed to a supplier's failure (DebtRank: the "
                             "impacts criticality × share compound along each path).")
class Exposure:
    account: AccountRef = strawberry.field(
        description="The exposed account, or a restricted stub outside your scope.")
    tier: int = strawberry.field(description="The round the failure first reaches the "
                                             "account: its distance from the supplier.")
    score: float = strawberry.field(description="Distress in [0, 1] after `maxTier` rounds "
                                                "(1: the whole need is lost).")
    path: list[AccountRef] = strawberry.field(
        description="From the failing supplier to this account, each step the largest "
                    "contribution that first reached the next account; accounts outside your "
                    "scope are restricted stubs.")
    deals: strawberry.Private[list[OpportunityRecord]]

    @strawberry.field(description="Our open opportunities with the exposed account, newest "
                                  "first: only those you may see, amounts masked as on every "
                                  "deal.", extensions=guard("opportunity:read"))
    def opportunities(self) -> list[Annotated[Opportunity, strawberry.lazy(
            "schema.pipeline_types")]]:
        from schema.pipeline_types import Opportunity

        return [Opportunity.from_row(row) for row in self.deals]

    @classmethod
    async def list_of(cls, info: Info, found: list[Exposed]) -> list[Exposure]:
        # One batched load for every account named and one for the open deals of every
        # exposed account, then plain values: a list of hundreds of exposures with their
        # paths resolves no field one by one.
        refs = await account_refs(info, (key for item in found
                                         for key in (item.account_id, *item.path)))
        deals = await resolve.open_deals(info.context, [item.account_id for item in found])
        return [cls(account=refs[item.account_id], tier=item.tier, score=item.score,
                    path=[refs[key] for key in item.path], deals=deals[item.account_id])
                for item in found]


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
        return await Exposure.list_of(info, found)


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
