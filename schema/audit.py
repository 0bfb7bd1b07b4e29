"""Audit trail types: who accessed or changed which data, when, from where and why."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, cast

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from relational.models import AuditRecord as AuditRow
from relational.repositories.audit import TrailQuery
from resolvers import audit as resolve
from schema.accounts import Info
from schema.common import AfterArg, FirstArg, edges, page_info
from services.audit_trail import fields_of


@strawberry.type(description="Who acted.")
class AuditActor:
    username: str = strawberry.field(description="User name, `token:<name>` or `system:…`.")


@strawberry.type(description="One record of the hash-chained audit log.")
class AuditRecord(relay.Node):
    id: relay.NodeID[str]
    seq: int = strawberry.field(description="Position in the chain.")
    at: datetime = strawberry.field(description="When (UTC).")
    actor: AuditActor | None = strawberry.field(description="Who.")
    operation: str = strawberry.field(description="What, e.g. account.update, read.sensitive.")
    target_ids: list[str] = strawberry.field(description="Records concerned.")
    fields: list[str] = strawberry.field(description="Fields changed or read.")
    before: JSON | None = strawberry.field(description="Non-secret fields before the change.")
    after: JSON | None = strawberry.field(description="After the change, or what was read.")
    ip: str | None = strawberry.field(description="Client address.")
    request_id: str | None = strawberry.field(description="Request id.")
    reason: str | None = strawberry.field(description="Stated purpose.")

    @strawberry.field(description="The first target, if any.")
    def target_id(self) -> str | None:
        return self.target_ids[0] if self.target_ids else None

    @classmethod
    def from_row(cls, row: AuditRow) -> AuditRecord:
        return cls(id=str(row.seq), seq=row.seq, at=row.at,
                   actor=AuditActor(username=row.actor) if row.actor else None,
                   operation=row.operation, target_ids=list(row.target_ids),
                   fields=fields_of(row), before=cast(JSON, row.before),
                   after=cast(JSON, row.after), ip=row.ip,
                   request_id=row.request_id, reason=row.reason)


@strawberry.input(description="Audit trail filter; all given conditions must hold.")
class AuditTrailFilter:
    actor_username: str | None = strawberry.field(default=None, description="Who.")
    target_id: str | None = strawberry.field(default=None, description="A record concerned.")
    operation: str | None = strawberry.field(default=None, description="Exact operation.")
    since: datetime | None = strawberry.field(default=None, description="From (inclusive).")
    until: datetime | None = strawberry.field(default=None, description="To (exclusive).")

    def query(self) -> TrailQuery:
        return TrailQuery(actor=self.actor_username, target_id=self.target_id,
                          operation=self.operation, since=self.since, until=self.until)


@strawberry.type(description="A page of audit records, newest first.")
class AuditRecordConnection(relay.Connection[AuditRecord]):
    query: strawberry.Private[TrailQuery]

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
                                 edges=edges(page, AuditRecord.from_row), query=query)
