"""Service desk types, inputs and payloads; root fields in TicketQueries / TicketMutations."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Annotated

import strawberry
from strawberry import relay

from resolvers import tickets as resolve
from resolvers.ids import to_global_id
from schema.accounts import AccountRef, Info, account_ref
from schema.common import AfterArg, FirstArg, edges, page_info
from schema.directives import guard
from schema.staff import Staff
from schema.writes import Settle
from services.tickets import HistoryRecord, TicketDraft, TicketRecord, TicketSearch
from services.vocabulary import TicketPriority, TicketState

strawberry.enum(TicketState, name="TicketState",
                description="NEW → ASSIGNED → IN_PROGRESS ⇄ WAITING_CUSTOMER → RESOLVED → "
                            "CLOSED; RESOLVED and CLOSED reopen to IN_PROGRESS.")
strawberry.enum(TicketPriority, name="TicketPriority", description="Ticket priority.")


@strawberry.type(description="One change of a ticket.")
class TicketChange:
    at: datetime = strawberry.field(description="When (UTC).")
    actor: str = strawberry.field(description="Who (user, or system:job:… for timers).")
    kind: str = strawberry.field(description="create, assign, transition, escalate, feedback.")
    from_state: str | None = strawberry.field(description="State before a transition.")
    to_state: str | None = strawberry.field(description="State after a transition.")
    note: str | None = strawberry.field(description="Note or reason.")

    @classmethod
    def of(cls, row: HistoryRecord) -> TicketChange:
        return cls(at=row.at, actor=row.actor, kind=row.kind, from_state=row.from_state,
                   to_state=row.to_state, note=row.note)


@strawberry.type(description="A service desk ticket (工单).")
class Ticket(relay.Node):
    id: relay.NodeID[str]
    number: int = strawberry.field(description="Ticket number.")
    state: TicketState = strawberry.field(description="Where the ticket stands.")
    version: int = strawberry.field(description="Changes with every write (optimistic lock).")
    priority: TicketPriority = strawberry.field(description="Priority.")
    category: str = strawberry.field(description="Category (售后, 安装, …): the skill needed.")
    channel: str = strawberry.field(description="How the request came in.")
    subject: str = strawberry.field(description="Subject.")
    description: str = strawberry.field(description="The request.")
    tier: str = strawberry.field(description="The customer's value tier when it was opened.")
    assign_due_at: datetime = strawberry.field(description="Assignment deadline (UTC).")
    sla_due_at: datetime = strawberry.field(
        description="Resolution deadline on the working-day calendar (UTC); moves on by the "
                    "business time spent waiting for the customer.")
    paused: bool = strawberry.field(description="The SLA clock is stopped (WAITING_CUSTOMER).")
    breached: bool = strawberry.field(description="A deadline was missed.")
    escalation_level: int = strawberry.field(
        description="0 none, 1 team lead, 2 department head.")
    feedback_score: int | None = strawberry.field(description="Satisfaction 1–5.")
    feedback_comment: str | None = strawberry.field(description="Satisfaction comment.")
    created_at: datetime = strawberry.field(description="Opened (UTC).")
    resolved_at: datetime | None = strawberry.field(description="Resolved (UTC).")
    row: strawberry.Private[TicketRecord]

    @classmethod
    def from_row(cls, row: TicketRecord) -> Ticket:
        return cls(id=str(row.id), number=row.number, state=TicketState(row.state),
                   version=row.version, priority=TicketPriority(row.priority),
                   category=row.category, channel=row.channel, subject=row.subject,
                   description=row.description, tier=row.tier, assign_due_at=row.assign_due_at,
                   sla_due_at=row.sla_due_at, paused=row.paused, breached=row.breached,
                   escalation_level=row.escalation_level, feedback_score=row.feedback_score,
                   feedback_comment=row.feedback_comment, created_at=row.created_at,
                   resolved_at=row.resolved_at, row=row)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Ticket | None]:
        rows = [await resolve.ticket(info.context, to_global_id("Ticket", node_id))
                for node_id in node_ids]
        return [None if row is None else cls.from_row(row) for row in rows]

    @strawberry.field(description="The engineer it is assigned to.")
    def assignee(self) -> Staff | None:
        return Staff.maybe(self.row.assignee_id)

    @strawberry.field(description="Whom the last escalation went to.")
    def escalated_to(self) -> Staff | None:
        return Staff.maybe(self.row.escalated_to)

    @strawberry.field(description="The customer.")
    async def account(self, info: Info) -> AccountRef:
        return await account_ref(info, self.row.account_id)

    @strawberry.field(description="Every change, oldest first.")
    async def history(self, info: Info) -> list[TicketChange]:
        return [TicketChange.of(row) for row in await resolve.history(info.context,
                                                                      self.row.id)]


@strawberry.type(description="A page of tickets.")
class TicketConnection(relay.Connection[Ticket]):
    query: strawberry.Private[TicketSearch]

    @strawberry.field(description="Number of tickets matching the filter (all pages).")
    async def total_count(self, info: Info) -> int:
        return await resolve.count(info.context, self.query)


@strawberry.input(description="Ticket list filter; all given conditions must hold.")
class TicketFilter:
    state: TicketState | None = strawberry.field(default=None, description="State.")
    breached: bool | None = strawberry.field(default=None, description="Missed a deadline.")
    assignee_id: strawberry.ID | None = strawberry.field(default=None,
                                                         description="Assigned engineer.")


@strawberry.input(description="A customer request.")
class TicketCreateInput:
    account_id: strawberry.ID = strawberry.field(description="The customer.")
    contact_id: strawberry.ID | None = strawberry.field(default=None,
                                                        description="Who asked.")
    category: str = strawberry.field(description="售后, 安装, 培训, 投诉, 咨询 or 备件.")
    priority: TicketPriority = strawberry.field(description="Priority.")
    channel: str = strawberry.field(description="PHONE, EMAIL, PORTAL, WECHAT or VISIT.")
    subject: str = strawberry.field(description="Subject.")
    description: str = strawberry.field(default="", description="The request.")
    contract_id: strawberry.ID | None = strawberry.field(default=None,
                                                         description="Contract concerned.")
    order_id: strawberry.ID | None = strawberry.field(default=None,
                                                      description="Order concerned.")


@strawberry.input(description="Move a ticket to another state.")
class TicketTransitionInput:
    ticket_id: strawberry.ID = strawberry.field(description="The ticket.")
    to: TicketState = strawberry.field(description="The new state.")
    version: int = strawberry.field(description="The version you last read.")
    note: str | None = strawberry.field(default=None, description="Why.")


@strawberry.input(description="The customer's satisfaction after resolution.")
class TicketFeedbackInput:
    ticket_id: strawberry.ID = strawberry.field(description="A resolved or closed ticket.")
    score: int = strawberry.field(description="1 (bad) to 5 (excellent).")
    comment: str | None = strawberry.field(default=None, description="Comment.")


@strawberry.type(description="Result of a ticket write.")
class TicketPayload:
    ticket: Ticket = strawberry.field(description="The ticket after the change.")


def _draft(given: TicketCreateInput) -> TicketDraft:
    return TicketDraft(
        account_id=resolve.from_id(str(given.account_id), "Account", "accountId"),
        contact_id=resolve.optional_id(given.contact_id, "Contact", "contactId"),
        contract_id=resolve.optional_id(given.contract_id, "Contract", "contractId"),
        order_id=resolve.optional_id(given.order_id, "Order", "orderId"),
        category=given.category, priority=given.priority.value, channel=given.channel,
        subject=given.subject, description=given.description)


async def ticket_create(info: Info, input: TicketCreateInput) -> TicketPayload:
    return TicketPayload(ticket=Ticket.from_row(await resolve.create(info.context,
                                                                     _draft(input))))


async def ticket_transition(info: Info, input: TicketTransitionInput) -> TicketPayload:
    row = await resolve.transition(info.context, str(input.ticket_id), input.to.value,
                                   input.version, input.note)
    return TicketPayload(ticket=Ticket.from_row(row))


async def ticket_feedback(info: Info, input: TicketFeedbackInput) -> TicketPayload:
    row = await resolve.feedback(info.context, str(input.ticket_id), input.score,
                                 input.comment)
    return TicketPayload(ticket=Ticket.from_row(row))


@strawberry.type(description="Service desk reads.")
class TicketQueries:
    @strawberry.field(description="Tickets of accounts you may see, newest first.",
                      extensions=guard("ticket:read"))
    async def tickets(
        self, info: Info,
        filter: Annotated[TicketFilter | None, strawberry.argument(
            description="Conditions that must all hold.")] = None,
        first: FirstArg = 20, after: AfterArg = None,
    ) -> TicketConnection:
        given = filter or TicketFilter()
        query = TicketSearch(
            state=given.state.value if given.state else None, breached=given.breached,
            assignee_id=resolve.optional_id(
                None if given.assignee_id is None else str(given.assignee_id), "User",
                "assigneeId"))
        page = await resolve.search(info.context, query, first, after)
        return TicketConnection(page_info=page_info(page), edges=edges(page, Ticket.from_row),
                                query=query)


@strawberry.type(description="Service desk writes.")
class TicketMutations:
    ticket_create = strawberry.mutation(
        resolver=ticket_create, description="Open a ticket; dispatched at once when an "
                                            "engineer with the skill and region has room.",
        extensions=[*guard("ticket:write", audit_as="ticket.create"), Settle()])
    ticket_transition = strawberry.mutation(
        resolver=ticket_transition, description="Move a ticket along its state machine.",
        extensions=[*guard("ticket:write", audit_as="ticket.transition"), Settle()])
    ticket_feedback = strawberry.mutation(
        resolver=ticket_feedback, description="Record the customer's satisfaction (1–5).",
        extensions=[*guard("ticket:write", audit_as="ticket.feedback"), Settle()])
