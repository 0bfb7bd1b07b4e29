"""Live changes over graphql-transport-ws: `accountChanged`, `contactChanged`,
`relationshipChanged`, `securityEvents`. Each payload carries the same types as the queries,
so every field rule applies per subscriber and per event; `cursor` resumes the stream."""

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
from services.subscriptions import Change, Ownership, SecurityRecord, StreamFilter

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


@strawberry.type(description="A change to a relationship edge.")
class RelationshipChange:
    cursor: str = strawberry.field(description="Resume after this event with `after:`.")
    kind: ChangeKind = strawberry.field(description="What happened.")
    id: strawberry.ID = strawberry.field(description="Global id of the account the edge leads to.")
    at: datetime = strawberry.field(description="When the change was committed (UTC).")
    relationship: RelationshipEdge | None = strawberry.field(
        description="The edge; null for REVOKED.")


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
    edge = change.record
    return RelationshipChange(
        cursor=change.cursor, kind=ChangeKind(change.kind),
        id=strawberry.ID(to_global_id("Account", change.record_id)), at=change.at,
        relationship=None if edge is None else RelationshipEdge(
            kind="OWNS", share_pct=edge.share_pct, edge=edge))


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

    @strawberry.subscription(description="Relationship edges linked or unlinked where you see "
                                         "the account they lead to.",
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
