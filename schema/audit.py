"""Audit trail types: who accessed or changed which data, when, from where and why."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, cast

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from resolvers import audit as resolve
from schema.accounts import Info
from schema.common import AfterArg, FirstArg, edges, page_info
from services.audit import TrailEntry, TrailFilter


@strawberry.type(description="Who acted.")
class AuditActor:
    username: str = strawberry.field(description="User name, `token:<name>` or `system:…`.")


@strawberry.type(description="One record of the hash-chained audit log. About a record above "
                             "the reader's clearance it shows that the event happened (who, "
                             "when, what, which ids, from where), not its content.")
class AuditRecord(relay.Node):
    id: relay.NodeID[str]
    seq: int = strawberry.field(description="Position in the chain.")
    at: datetime = strawberry.field(description="When (UTC).")
    actor: AuditActor | None = strawberry.field(description="Who.")
    operation: str = strawberry.field(description="What, e.g. account.update, read.sensitive.")
    target_ids: list[str] = strawberry.field(description="Records concerned.")
    fields: list[str] = strawberry.field(description="Fields changed or read; empty when "
                                                     "redacted.")
    before: JSON | None = strawberry.field(description="Non-secret fields before the change; "
                                                       "null when redacted.")
    after: JSON | None = strawberry.field(description="After the change, or what was read; "
                                                      "null when redacted.")
    redacted: bool = strawberry.field(
        description="True when a target is classified above the reader's clearance: fields, "
                    "before and after are withheld.")
    ip: str | None = strawberry.field(description="Client address.")
    request_id: str | None = strawberry.field(description="Request id.")
    reason: str | None = strawberry.field(description="Stated purpose.")

    @strawberry.field(description="The first target, if any.")
    def target_id(self) -> str | None:
        return self.target_ids[0] if self.target_ids else None

    @classmethod
    def from_entry(cls, entry: TrailEntry) -> AuditRecord:
        return cls(id=str(entry.seq), seq=entry.seq, at=entry.at,
                   actor=AuditActor(username=entry.actor) if entry.actor else None,
                   operation=entry.operation, target_ids=entry.target_ids,
                   fields=entry.fields, before=cast(JSON, entry.before),
                   after=cast(JSON, entry.after), ip=entry.ip, request_id=entry.request_id,
                   reason=entry.reason, redacted=entry.redacted)


@strawberry.input(description="Audit trail filter; all given conditions must hold.")
class AuditTrailFilter:
    actor_username: str | None = strawberry.field(default=None, description="Who.")
    target_id: str | None = strawberry.field(default=None, description="A record concerned.")
    operation: str | None = strawberry.field(default=None, description="Exact operation.")
    since: datetime | None = strawberry.field(default=None, description="From (inclusive).")
    until: datetime | None = strawberry.field(default=None, description="To (exclusive).")

    def query(self) -> TrailFilter:
        return TrailFilter(actor=self.actor_username, target_id=self.target_id,
                          operation=self.operation, since=self.since, until=self.until)


@strawberry.type(description="A page of audit records, newest first.")
class AuditRecordConnection(relay.Connection[AuditRecord]):
    query: strawberry.Private[TrailFilter]

    @strawberry.field(description="Number of matching records (all pages).")
    async def total_count(self, info: Info) -> int:
        return await resolve.count(info.context, self.query)


async def audit_trail(
    info: Info,
    filter: Annotated[AuditTrailFilter | None, strawberry.argument(
        description="Conditions that must all hold.")] = None,
    first: FirstArg = 20, after: AfterArg = None,
) -> AuditRecordConnection:
    query = (filter or AuditTrailFilter()).query()
    page = await resolve.trail(info.context, query, first, after)
    return AuditRecordConnection(page_info=page_info(page),
                                 edges=edges(page, AuditRecord.from_entry), query=query)
