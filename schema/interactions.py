"""Interaction types, lists and the interactionLog mutation."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

import strawberry
from strawberry import relay

from resolvers import interactions as resolve
from resolvers.ids import from_global_id, to_global_id
from schema.accounts import AccountRef, Info, account_ref
from schema.common import AfterArg, FirstArg, page_info
from schema.contacts import ContactRef, contact_ref
from schema.directives import guard
from schema.staff import Staff
from schema.writes import GraphWrite, Settle
from services.interactions import InteractionDraft, InteractionList, InteractionRecord
from services.pagination import Page
from services.vocabulary import InteractionChannel, InteractionDirection

strawberry.enum(InteractionChannel, name="InteractionChannel",
                description="VISIT 拜访, CALL 电话, EMAIL 邮件, EXHIBITION 展会, MEETING 会议, "
                            "TENDER_QA 投标答疑, CONSULTATION 咨询.")
strawberry.enum(InteractionDirection, name="InteractionDirection",
                description="INBOUND: the customer reached out; OUTBOUND: we did.")

ChannelArg = Annotated[InteractionChannel | None, strawberry.argument(
    description="Only this channel.")]
SinceArg = Annotated[date | None, strawberry.argument(description="From this day (UTC).")]
UntilArg = Annotated[date | None, strawberry.argument(
    description="Up to this day (UTC), inclusive.")]


@strawberry.type(description="A meeting, call, e-mail … between our staff and contacts.")
class Interaction:
    id: strawberry.ID = strawberry.field(description="Global id.")
    channel: InteractionChannel = strawberry.field(description="How it took place.")
    channel_label: str = strawberry.field(description="The channel's Chinese name (拜访 …).")
    direction: InteractionDirection = strawberry.field(description="Who reached out.")
    occurred_at: datetime = strawberry.field(description="When (UTC).")
    subject: str = strawberry.field(description="Subject.")
    notes: str | None = strawberry.field(
        description="Notes (encrypted at rest); null without clearance for the account's "
                    "classification.")
    created_at: datetime = strawberry.field(description="Logged (UTC).")
    record: strawberry.Private[InteractionRecord]

    @classmethod
    def of(cls, row: InteractionRecord) -> Interaction:
        return cls(id=strawberry.ID(to_global_id("Interaction", row.id)), channel=row.channel,
                   channel_label=row.channel.label,
                   direction=InteractionDirection(row.direction), occurred_at=row.occurred_at,
                   subject=row.subject, notes=row.notes, created_at=row.created_at, record=row)

    @strawberry.field(description="The account.")
    async def account(self, info: Info) -> AccountRef:
        return await account_ref(info, self.record.account_id)

    @strawberry.field(description="Our staff member.")
    def staff(self) -> Staff:
        return Staff.of(self.record.user_id)

    @strawberry.field(description="The contacts met; stubs for those outside your scope.")
    async def contacts(self, info: Info) -> list[ContactRef]:
        return [await contact_ref(info, item) for item in self.record.contact_ids]


@strawberry.type(description="An interaction in a list.")
class InteractionEdge:
    cursor: str = strawberry.field(description="Continue after this one.")
    node: Interaction = strawberry.field(description="The interaction.")


@strawberry.type(description="A page of interactions, newest first.")
class InteractionConnection:
    page_info: relay.PageInfo = strawberry.field(description="Paging.")
    edges: list[InteractionEdge] = strawberry.field(description="This page.")
    wanted: strawberry.Private[InteractionList]

    @classmethod
    def of(cls, page: Page[InteractionRecord], wanted: InteractionList) -> InteractionConnection:
        return cls(page_info=page_info(page), wanted=wanted, edges=[
            InteractionEdge(cursor=cursor, node=Interaction.of(item))
            for item, cursor in zip(page.items, page.cursors, strict=True)])

    @strawberry.field(description="Number of interactions in this list (all pages).")
    async def total_count(self, info: Info) -> int:
        return await resolve.count(info.context, self.wanted)


def wanted_of(channel: InteractionChannel | None, since: date | None,
              until: date | None) -> InteractionList:
    return InteractionList(channel=None if channel is None else channel.value, since=since,
                           until=until)


async def account_interactions(info: Info, account_id: uuid.UUID, first: int | None,
                               after: str | None, wanted: InteractionList
                               ) -> InteractionConnection:
    page = await resolve.of_account(info.context, account_id, wanted, first, after)
    return InteractionConnection.of(page, InteractionList(
        account_id=account_id, channel=wanted.channel, since=wanted.since, until=wanted.until))


async def contact_interactions(info: Info, contact_id: uuid.UUID, first: int | None,
                               after: str | None, wanted: InteractionList
                               ) -> InteractionConnection:
    page = await resolve.of_contact(info.context, contact_id, wanted, first, after)
    return InteractionConnection.of(page, InteractionList(
        contact_id=contact_id, channel=wanted.channel, since=wanted.since, until=wanted.until))


@strawberry.input(description="An interaction of yours with contacts of one account.")
class InteractionLogInput:
    account_id: strawberry.ID = strawberry.field(description="The account.")
    contact_ids: list[strawberry.ID] = strawberry.field(
        description="The contacts met (1 to 50), all working at the account.")
    channel: InteractionChannel = strawberry.field(description="How.")
    direction: InteractionDirection = strawberry.field(description="Who reached out.")
    occurred_at: datetime = strawberry.field(description="When, with a time zone.")
    subject: str = strawberry.field(description="Subject (up to 200 characters).")
    notes: str | None = strawberry.field(
        default=None, description="Notes (encrypted at rest, classified like the account).")

    def draft(self) -> InteractionDraft:
        return InteractionDraft(
            account_id=from_global_id(str(self.account_id), "Account", "accountId"),
            contact_ids=resolve.contact_ids([str(item) for item in self.contact_ids]),
            channel=self.channel.value, direction=self.direction.value,
            occurred_at=self.occurred_at, subject=self.subject, notes=self.notes)


@strawberry.type(description="Result of interactionLog.")
class InteractionLogPayload(GraphWrite):
    interaction: Interaction = strawberry.field(description="The logged interaction.")


async def interaction_log(info: Info, input: InteractionLogInput) -> InteractionLogPayload:
    return InteractionLogPayload(interaction=Interaction.of(
        await resolve.log(info.context, input.draft())))


@strawberry.type(description="Interaction reads.")
class InteractionQueries:
    @strawberry.field(description="A staff user's interactions, newest first (yours when "
                                  "`userId` is not given); only accounts you may see.",
                      extensions=guard("interaction:read"))
    async def interactions(
        self, info: Info,
        user_id: Annotated[strawberry.ID | None, strawberry.argument(
            description="The staff user (a User id).")] = None,
        first: FirstArg = 20, after: AfterArg = None, channel: ChannelArg = None,
        since: SinceArg = None, until: UntilArg = None,
    ) -> InteractionConnection:
        wanted = wanted_of(channel, since, until)
        page = await resolve.of_user(info.context, None if user_id is None else str(user_id),
                                     wanted, first, after)
        owner = await resolve.user_of(info.context, None if user_id is None else str(user_id))
        return InteractionConnection.of(page, InteractionList(
            user_id=owner, channel=wanted.channel, since=since, until=until))


@strawberry.type(description="Interaction writes.")
class InteractionMutations:
    interaction_log = strawberry.mutation(
        resolver=interaction_log, description="Log an interaction of yours with contacts; "
                                              "refreshes your KNOWS strengths to them.",
        extensions=[*guard("interaction:write", audit_as="interaction.log"), Settle()])
