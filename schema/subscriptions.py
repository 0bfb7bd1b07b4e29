"""Live changes over graphql-transport-ws: `accountChanged`, `contactChanged`,
`relationshipChanged`, `opportunityChanged`, `ticketChanged`, `securityEvents`. Each payload
carries the same types as the queries, so every field rule applies per subscriber and per
event; `cursor` resumes the stream."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any

import strawberry

from resolvers import subscriptions as resolve
from resolvers.ids import from_global_id, to_global_id
from schema.accounts import Account, AccountRef, Info, account_ref
from schema.contacts import Contact
from schema.directives import guard
from schema.pipeline_types import Opportunity
from schema.relationships import Relationship
from schema.tickets import Ticket
from services.stream_subjects import Edge, Ownership, SecurityRecord
from services.subscriptions import Change, StreamFilter

ResumeArg = Annotated[str | None, strawberry.argument(
    description="Resume after this event's `cursor`: missed events are replayed first (kept "
                "for EVENT_RETENTION_DAYS, 7 by default).")]


@strawberry.enum(name="ChangeKind", description="What happened to the record.")
class ChangeKind(Enum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    DELETED = "DELETED"
    LINKED = "LINKED"
    UNLINKED = "UNLINKED"
    REVOKED = "REVOKED"  # the record left the subscriber's scope: nothing more about it


@strawberry.input(description="Changes to stream; all given conditions must hold.")
class AccountChangeFilter:
    ids: list[strawberry.ID] | None = strawberry.field(default=None,
                                                       description="Only these accounts.")
    regions: list[str] | None = strawberry.field(default=None, description="Only these regions.")
    kinds: list[ChangeKind] | None = strawberry.field(default=None,
                                                      description="Only these kinds.")


@strawberry.input(description="Changes to stream; all given conditions must hold.")
class ContactChangeFilter:
    account_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Only contacts of these accounts.")
    kinds: list[ChangeKind] | None = strawberry.field(default=None,
                                                      description="Only these kinds.")


@strawberry.input(description="Changes to stream; all given conditions must hold.")
class RelationshipChangeFilter:
    account_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Only edges with one of these accounts at either end.")
    kinds: list[ChangeKind] | None = strawberry.field(default=None,
                                                      description="Only these kinds.")


@strawberry.input(description="Changes to stream; all given conditions must hold.")
class OpportunityChangeFilter:
    ids: list[strawberry.ID] | None = strawberry.field(default=None,
                                                       description="Only these opportunities.")
    account_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Only opportunities of these accounts.")
    kinds: list[ChangeKind] | None = strawberry.field(default=None,
                                                      description="Only these kinds.")


@strawberry.input(description="Changes to stream; all given conditions must hold.")
class TicketChangeFilter:
    ids: list[strawberry.ID] | None = strawberry.field(default=None,
                                                       description="Only these tickets.")
    account_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Only tickets of these accounts.")
    kinds: list[ChangeKind] | None = strawberry.field(default=None,
                                                      description="Only these kinds.")


def _ids(given: list[strawberry.ID] | None, type_name: str, field: str) -> frozenset[str]:
    return frozenset(str(from_global_id(str(one), type_name, field)) for one in given or ())


def _kinds(given: list[ChangeKind] | None) -> frozenset[str]:
    return frozenset(kind.value for kind in given or ())


@strawberry.type(description="A change to an account.")
class AccountChange:
    cursor: str = strawberry.field(description="Resume after this event with `after:`.")
    kind: ChangeKind = strawberry.field(description="What happened.")
    id: strawberry.ID = strawberry.field(description="The account's global id.")
    at: datetime = strawberry.field(description="When the change was committed (UTC).")
    account: Account | None = strawberry.field(
        description="The account as it is now; null for REVOKED and DELETED.")


@strawberry.type(description="A change to a contact.")
class ContactChange:
    cursor: str = strawberry.field(description="Resume after this event with `after:`.")
    kind: ChangeKind = strawberry.field(description="What happened.")
    id: strawberry.ID = strawberry.field(description="The contact's global id.")
    at: datetime = strawberry.field(description="When the change was committed (UTC).")
    contact: Contact | None = strawberry.field(
        description="The contact as it is now; null for REVOKED and DELETED.")


@strawberry.type(description="A relationship edge between two accounts (a shareholding).")
class RelationshipEdge:
    kind: str = strawberry.field(description="Edge type, e.g. OWNS.")
    share_pct: Decimal | None = strawberry.field(description="Stake in %; null once unlinked.")
    edge: strawberry.Private[Ownership]

    @strawberry.field(description="The shareholder.")
    async def parent(self, info: Info) -> AccountRef:
        return await account_ref(info, self.edge.parent_id)

    @strawberry.field(description="The company held.")
    async def child(self, info: Info) -> AccountRef:
        return await account_ref(info, self.edge.child_id)


@strawberry.type(description="A change to a relationship edge: a shareholding (LINKED, "
                             "UNLINKED) or a decision-map or supply edge (LINKED when created, "
                             "UPDATED, UNLINKED when ended, DELETED with a deleted contact).")
class RelationshipChange:
    cursor: str = strawberry.field(description="Resume after this event with `after:`.")
    kind: ChangeKind = strawberry.field(description="What happened.")
    id: strawberry.ID = strawberry.field(
        description="Global id of the edge: the Relationship, or for a shareholding the "
                    "Account held.")
    at: datetime = strawberry.field(description="When the change was committed (UTC).")
    relationship: RelationshipEdge | None = strawberry.field(
        description="A shareholding; null for other edges, REVOKED and DELETED.")
    edge: Relationship | None = strawberry.field(
        description="An INFLUENCES, REPORTS_TO, KNOWS or SUPPLIES edge as queries return it; "
                    "null for shareholdings, REVOKED and DELETED.")


@strawberry.type(description="A change to an opportunity (a deal).")
class OpportunityChange:
    cursor: str = strawberry.field(description="Resume after this event with `after:`.")
    kind: ChangeKind = strawberry.field(description="CREATED, UPDATED or REVOKED.")
    id: strawberry.ID = strawberry.field(description="The opportunity's global id.")
    at: datetime = strawberry.field(description="When the change was committed (UTC).")
    topic: str = strawberry.field(
        description="The event: opportunity.created, .updated, .stage_changed, .won, .lost "
                    "(a move to WON or LOST is a stage change and then the close).")
    opportunity: Opportunity | None = strawberry.field(
        description="The opportunity as it is now (amount masked as in queries); null for "
                    "REVOKED.")


@strawberry.type(description="A change to a service desk ticket, as `ticketChanged` streams it "
                             "(a line of its history is a `TicketChange`).")
class TicketChangeEvent:
    cursor: str = strawberry.field(description="Resume after this event with `after:`.")
    kind: ChangeKind = strawberry.field(description="CREATED, UPDATED or REVOKED.")
    id: strawberry.ID = strawberry.field(description="The ticket's global id.")
    at: datetime = strawberry.field(description="When the change was committed (UTC).")
    topic: str = strawberry.field(
        description="The event: ticket.created, .transitioned, .assigned, .escalated.")
    ticket: Ticket | None = strawberry.field(
        description="The ticket as it is now; null for REVOKED.")


@strawberry.type(description="A security-relevant audit record (a refusal, a burst of "
                             "sensitive reads, a login from a new address).")
class SecurityEvent:
    cursor: str = strawberry.field(description="Resume after this event with `after:`.")
    kind: ChangeKind = strawberry.field(description="Always CREATED.")
    at: datetime = strawberry.field(description="When it was recorded (UTC).")
    operation: str = strawberry.field(description="e.g. denied, security.newAddress.")
    actor: str | None = strawberry.field(description="Who acted.")
    target_ids: list[str] = strawberry.field(description="Records concerned.")
    ip: str | None = strawberry.field(description="Client address.")
    details: str = strawberry.field(description="The record's details as JSON text.")


def _account_change(change: Change) -> AccountChange:
    return AccountChange(cursor=change.cursor, kind=ChangeKind(change.kind),
                         id=strawberry.ID(to_global_id("Account", change.record_id)),
                         at=change.at, account=Account.maybe(change.record))


def _contact_change(change: Change) -> ContactChange:
    record = change.record
    return ContactChange(cursor=change.cursor, kind=ChangeKind(change.kind),
                         id=strawberry.ID(to_global_id("Contact", change.record_id)),
                         at=change.at, contact=None if record is None else Contact.from_row(record))


def _relationship_change(change: Change) -> RelationshipChange:
    found = change.record
    owned = change.topic.startswith("ownership.")
    return RelationshipChange(
        cursor=change.cursor, kind=ChangeKind(change.kind),
        id=strawberry.ID(to_global_id("Account" if owned else "Relationship", change.record_id)),
        at=change.at,
        relationship=RelationshipEdge(kind="OWNS", share_pct=found.share_pct, edge=found)
        if isinstance(found, Ownership) else None,
        edge=Relationship.of(found.record) if isinstance(found, Edge) else None)


def _opportunity_change(change: Change) -> OpportunityChange:
    return OpportunityChange(
        cursor=change.cursor, kind=ChangeKind(change.kind), at=change.at, topic=change.topic,
        id=strawberry.ID(to_global_id("Opportunity", change.record_id)),
        opportunity=None if change.record is None else Opportunity.from_row(change.record))


def _ticket_change(change: Change) -> TicketChangeEvent:
    return TicketChangeEvent(
        cursor=change.cursor, kind=ChangeKind(change.kind), at=change.at, topic=change.topic,
        id=strawberry.ID(to_global_id("Ticket", change.record_id)),
        ticket=None if change.record is None else Ticket.from_row(change.record))


def _security_event(change: Change) -> SecurityEvent:
    record = change.record
    assert isinstance(record, SecurityRecord)  # noqa: S101 - the security stream's subject
    return SecurityEvent(cursor=change.cursor, kind=ChangeKind(change.kind), at=change.at,
                         operation=record.operation, actor=record.actor,
                         target_ids=list(record.target_ids), ip=record.ip,
                         details=json.dumps(record.details, ensure_ascii=False, sort_keys=True))


def _arguments(after: str | None, given: Any) -> dict[str, Any]:
    return {"resumed": after is not None,
            "filter": None if given is None else json.loads(json.dumps(
                strawberry.asdict(given), default=lambda value: getattr(value, "value", value)))}


@strawberry.type(description="Live changes over WebSocket (graphql-transport-ws); the token "
                             "goes in connection_init's payload as `authorization`.")
class SubscriptionFields:
    @strawberry.subscription(description="Accounts created or changed within your scope.",
                             extensions=guard("account:read"))
    async def account_changed(
        self, info: Info, after: ResumeArg = None,
        filter: Annotated[AccountChangeFilter | None, strawberry.argument(
            description="Which changes.")] = None,
    ) -> AsyncGenerator[AccountChange, None]:
        wanted = StreamFilter(
            ids=_ids(filter.ids if filter else None, "Account", "filter.ids"),
            regions=frozenset(filter.regions or ()) if filter else frozenset(),
            kinds=_kinds(filter.kinds if filter else None))
        async for change in resolve.changes(info.context, "account", "accountChanged", after,
                                            wanted, _arguments(after, filter)):
            yield _account_change(change)

    @strawberry.subscription(description="Contacts created, changed or deleted within your "
                                         "scope.", extensions=guard("contact:read"))
    async def contact_changed(
        self, info: Info, after: ResumeArg = None,
        filter: Annotated[ContactChangeFilter | None, strawberry.argument(
            description="Which changes.")] = None,
    ) -> AsyncGenerator[ContactChange, None]:
        wanted = StreamFilter(
            account_ids=_ids(filter.account_ids if filter else None, "Account",
                             "filter.accountIds"),
            kinds=_kinds(filter.kinds if filter else None))
        async for change in resolve.changes(info.context, "contact", "contactChanged", after,
                                            wanted, _arguments(after, filter)):
            yield _contact_change(change)

    @strawberry.subscription(description="Relationship edges linked, changed or unlinked: "
                                         "shareholdings where you see the account they lead "
                                         "to, decision-map and supply edges where you see "
                                         "both ends.",
                             extensions=guard("account:read"))
    async def relationship_changed(
        self, info: Info, after: ResumeArg = None,
        filter: Annotated[RelationshipChangeFilter | None, strawberry.argument(
            description="Which changes.")] = None,
    ) -> AsyncGenerator[RelationshipChange, None]:
        wanted = StreamFilter(
            account_ids=_ids(filter.account_ids if filter else None, "Account",
                             "filter.accountIds"),
            kinds=_kinds(filter.kinds if filter else None))
        async for change in resolve.changes(info.context, "relationship",
                                            "relationshipChanged", after, wanted,
                                            _arguments(after, filter)):
            yield _relationship_change(change)

    @strawberry.subscription(description="Opportunities created, changed, moved through the "
                                         "pipeline, won or lost within your scope.",
                             extensions=guard("opportunity:read"))
    async def opportunity_changed(
        self, info: Info, after: ResumeArg = None,
        filter: Annotated[OpportunityChangeFilter | None, strawberry.argument(
            description="Which changes.")] = None,
    ) -> AsyncGenerator[OpportunityChange, None]:
        wanted = StreamFilter(
            ids=_ids(filter.ids if filter else None, "Opportunity", "filter.ids"),
            account_ids=_ids(filter.account_ids if filter else None, "Account",
                             "filter.accountIds"),
            kinds=_kinds(filter.kinds if filter else None))
        async for change in resolve.changes(info.context, "opportunity", "opportunityChanged",
                                            after, wanted, _arguments(after, filter)):
            yield _opportunity_change(change)

    @strawberry.subscription(description="Tickets opened, moved, assigned or escalated within "
                                         "your scope.", extensions=guard("ticket:read"))
    async def ticket_changed(
        self, info: Info, after: ResumeArg = None,
        filter: Annotated[TicketChangeFilter | None, strawberry.argument(
            description="Which changes.")] = None,
    ) -> AsyncGenerator[TicketChangeEvent, None]:
        wanted = StreamFilter(
            ids=_ids(filter.ids if filter else None, "Ticket", "filter.ids"),
            account_ids=_ids(filter.account_ids if filter else None, "Account",
                             "filter.accountIds"),
            kinds=_kinds(filter.kinds if filter else None))
        async for change in resolve.changes(info.context, "ticket", "ticketChanged", after,
                                            wanted, _arguments(after, filter)):
            yield _ticket_change(change)

    @strawberry.subscription(description="Security events as they are recorded (auditors).",
                             extensions=guard("audit:read"))
    async def security_events(
        self, info: Info, after: ResumeArg = None,
        operations: Annotated[list[str] | None, strawberry.argument(
            description="Only these operations.")] = None,
    ) -> AsyncGenerator[SecurityEvent, None]:
        wanted = StreamFilter(operations=frozenset(operations or ()))
        async for change in resolve.changes(info.context, "security", "securityEvents", after,
                                            wanted, {"resumed": after is not None,
                                                     "operations": operations}):
            yield _security_event(change)
