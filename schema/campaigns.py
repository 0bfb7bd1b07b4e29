"""Campaign types and root fields (CampaignQueries / CampaignMutations)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

import strawberry
from strawberry import relay

from resolvers import campaigns as resolve
from resolvers.ids import to_global_id
from schema.accounts import AccountRef, Info, account_refs
from schema.common import AfterArg, FirstArg, page_info
from schema.directives import guard
from schema.writes import Settle
from services.campaigns import CampaignRecord, MemberRecord
from services.pagination import Page
from services.vocabulary import CampaignResponse

strawberry.enum(CampaignResponse, name="CampaignResponse",
                description="A member's latest response: INVITED, SENT, OPENED, RESPONDED, "
                            "ATTENDED, CONVERTED, OPTED_OUT.")


@strawberry.type(description="A member of a campaign and its latest response.")
class CampaignMember:
    account: AccountRef = strawberry.field(description="The member account.")
    joined_at: datetime = strawberry.field(description="Enrolled (UTC).")
    response: CampaignResponse | None = strawberry.field(
        description="Latest response; null before the first.")
    responded_at: datetime | None = strawberry.field(description="When it was recorded (UTC).")
    note: str | None = strawberry.field(description="Note recorded with it.")


async def _members(info: Info, rows: list[MemberRecord]) -> list[CampaignMember]:
    accounts = await account_refs(info, [str(row.account_id) for row in rows])
    return [CampaignMember(account=accounts[str(row.account_id)], joined_at=row.joined_at,
                           response=None if row.response is None
                           else CampaignResponse(row.response),
                           responded_at=row.responded_at, note=row.note) for row in rows]


@strawberry.type(description="A member and its cursor.")
class CampaignMemberEdge:
    cursor: str = strawberry.field(description="Cursor of this member.")
    node: CampaignMember = strawberry.field(description="The member.")


@strawberry.type(description="How many members gave one response.")
class CampaignResponseCount:
    response: CampaignResponse | None = strawberry.field(
        description="The latest response; null: none yet.")
    count: int = strawberry.field(description="Members among the accounts you may see.")


@strawberry.type(description="The members of a campaign you may see.")
class CampaignMembers:
    campaign: strawberry.Private[CampaignRecord]
    response: strawberry.Private[str | None]
    first: strawberry.Private[int | None]
    after: strawberry.Private[str | None]
    # Answers shared by this object's fields (totalCount and byResponse, edges and pageInfo).
    memo: strawberry.Private[dict[str, Any]] = dataclasses.field(default_factory=dict)

    async def _counts(self, info: Info) -> dict[str | None, int]:
        if "counts" not in self.memo:
            self.memo["counts"] = await resolve.response_counts(info.context, self.campaign)
        counts: dict[str | None, int] = self.memo["counts"]
        return counts

    async def _page(self, info: Info) -> Page[MemberRecord]:
        if "page" not in self.memo:
            self.memo["page"] = await resolve.members(info.context, self.campaign,
                                                      self.response, self.first, self.after)
        page: Page[MemberRecord] = self.memo["page"]
        return page

    @strawberry.field(description="Members among the accounts you may see (of the response "
                                  "asked for, if any).")
    async def total_count(self, info: Info) -> int:
        counts = await self._counts(info)
        if self.response is None:
            return sum(counts.values())
        return counts.get(self.response, 0)

    @strawberry.field(description="Members per latest response, every response listed (zero "
                                  "included), then those without one.")
    async def by_response(self, info: Info) -> list[CampaignResponseCount]:
        counts = await self._counts(info)
        return [CampaignResponseCount(response=None if key is None else CampaignResponse(key),
                                      count=counts.get(key, 0))
                for key in [*(item.value for item in CampaignResponse), None]]

    @strawberry.field(description="A page of the members, earliest enrolled first.")
    async def edges(self, info: Info) -> list[CampaignMemberEdge]:
        page = await self._page(info)
        nodes = await _members(info, page.items)
        return [CampaignMemberEdge(cursor=cursor, node=node)
                for node, cursor in zip(nodes, page.cursors, strict=True)]

    @strawberry.field(description="Paging of `edges`.")
    async def page_info(self, info: Info) -> relay.PageInfo:
        return page_info(await self._page(info))


@strawberry.type(description="What is attributed to a campaign (its `campaignId`), among the "
                             "leads and opportunities you may see.")
class CampaignAttribution:
    leads: int = strawberry.field(description="Leads.")
    opportunities: int = strawberry.field(description="Opportunities, any status.")
    won_opportunities: int = strawberry.field(description="WON opportunities (their amounts "
                                                          "make the ROI's revenue).")


@strawberry.type(description="A marketing campaign (营销活动).")
class Campaign(relay.Node):
    id: relay.NodeID[str]
    name: str = strawberry.field(description="Name.")
    budget: Decimal = strawberry.field(description="Budget.")
    cost: Decimal = strawberry.field(description="Actual cost so far.")
    currency: str = strawberry.field(description="ISO 4217 currency of budget and cost.")
    segment: str = strawberry.field(description="Tag rule expression choosing the members.")
    created_at: datetime = strawberry.field(description="Created (UTC).")
    row: strawberry.Private[CampaignRecord]

    @classmethod
    def of(cls, row: CampaignRecord) -> Campaign:
        return cls(id=str(row.id), name=row.name, budget=row.budget, cost=row.cost,
                   currency=row.currency, segment=row.segment, created_at=row.created_at,
                   row=row)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Campaign | None]:
        rows = [await resolve.campaign(info.context, to_global_id("Campaign", node_id))
                for node_id in node_ids]
        return [None if row is None else cls.of(row) for row in rows]

    @strawberry.field(description="(Won revenue attributed − cost) / cost; null while the "
                                  "cost is zero. Attribution: README, 'Campaigns'.")
    async def roi(self, info: Info) -> Decimal | None:
        return await resolve.roi(info.context, self.row)

    @strawberry.field(description="Leads and opportunities attributed to it that you may see.",
                      extensions=guard("opportunity:read"))
    async def attribution(self, info: Info) -> CampaignAttribution:
        leads, deals, won = await resolve.attribution(info.context, self.row)
        return CampaignAttribution(leads=leads, opportunities=deals, won_opportunities=won)

    @strawberry.field(description="Its members among the accounts you may see, optionally "
                                  "those whose latest response is `response`.")
    def members(self, first: FirstArg = 20, after: AfterArg = None,
                response: CampaignResponse | None = None
                ) -> CampaignMembers:
        return CampaignMembers(campaign=self.row, first=first, after=after,
                               response=None if response is None else response.value)


@strawberry.input(description="A new campaign.")
class CampaignCreateInput:
    name: str = strawberry.field(description="Name.")
    budget: Decimal = strawberry.field(description="Budget, not negative.")
    currency: str = strawberry.field(default="CNY", description="ISO 4217 code.")
    segment: str = strawberry.field(description="Tag rule expression; its matches among the "
                                                "accounts you may see become the members.")
    cost: Decimal = strawberry.field(default=Decimal(0), description="Cost so far.")


@strawberry.type(description="Result of campaignCreate.")
class CampaignCreatePayload:
    campaign: Campaign = strawberry.field(description="The new campaign.")


async def campaign_create(info: Info, input: CampaignCreateInput) -> CampaignCreatePayload:
    row = await resolve.create(info.context, name=input.name, budget=input.budget,
                               currency=input.currency, segment=input.segment, cost=input.cost)
    return CampaignCreatePayload(campaign=Campaign.of(row))


@strawberry.input(description="A member's response to a campaign.")
class CampaignMemberRespondInput:
    campaign_id: strawberry.ID = strawberry.field(description="The campaign.")
    account_id: strawberry.ID = strawberry.field(description="A member account you may see.")
    response: CampaignResponse = strawberry.field(
        description="The response.")
    note: str | None = strawberry.field(default=None, description="Note, ≤ 500 characters.")


@strawberry.type(description="Result of campaignMemberRespond.")
class CampaignMemberRespondPayload:
    member: CampaignMember = strawberry.field(description="The member, with its response.")


async def campaign_member_respond(info: Info, input: CampaignMemberRespondInput
                                  ) -> CampaignMemberRespondPayload:
    row = await resolve.respond(info.context, campaign_id=str(input.campaign_id),
                                account_id=str(input.account_id),
                                response=input.response.value, note=input.note)
    return CampaignMemberRespondPayload(member=(await _members(info, [row]))[0])


@strawberry.type(description="Campaign reads.")
class CampaignQueries:
    @strawberry.field(description="One campaign by id; null if there is none.",
                      extensions=guard("campaign:read"))
    async def campaign(self, info: Info, id: strawberry.ID) -> Campaign | None:
        row = await resolve.campaign(info.context, str(id))
        return None if row is None else Campaign.of(row)


@strawberry.type(description="Campaign writes.")
class CampaignMutations:
    campaign_create = strawberry.mutation(
        resolver=campaign_create, description="Create a campaign; its segment's matches "
                                              "become members.",
        extensions=[*guard("campaign:write", audit_as="campaign.create"), Settle()])
    campaign_member_respond = strawberry.mutation(
        resolver=campaign_member_respond,
        description="Record a member's latest response (with its time and a note).",
        extensions=guard("campaign:write", audit_as="campaign.respond"))
