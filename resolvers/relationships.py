"""Relationship bindings: global ids in by kind, one use case per call."""

from __future__ import annotations

import uuid
from datetime import date

from resolvers.context import Context
from resolvers.ids import from_global_id, to_global_id
from services import clock, relationships
from services.errors import BadUserInput
from services.relationship_rows import ENDS, KINDS, RelationshipRecord
from services.relationships import RelationshipChanges, RelationshipDraft


def decode_ends(kind: str, from_id: str, to_id: str) -> tuple[uuid.UUID, uuid.UUID]:
    """fromId/toId of a `kind` edge: Contact ids, a User then a Contact (KNOWS), or Account
    ids (SUPPLIES); another type's id is NOT_FOUND naming the field."""
    if kind not in KINDS:
        raise BadUserInput(f"`kind` must be one of {', '.join(KINDS)}", field="kind")
    source, target = ENDS[kind]
    return from_global_id(from_id, source, "fromId"), from_global_id(to_id, target, "toId")


def end_ids(record: RelationshipRecord) -> tuple[str, str]:
    """The global ids of both ends (a Contact, a User or an Account, by kind)."""
    source, target = ENDS[record.kind]
    return to_global_id(source, record.from_id), to_global_id(target, record.to_id)


async def create(ctx: Context, draft: RelationshipDraft) -> RelationshipRecord:
    async with await ctx.uow() as uow:
        return await relationships.create(uow, await ctx.actor(), draft, clock.today())


async def update(ctx: Context, relationship_id: str,
                 changes: RelationshipChanges) -> RelationshipRecord:
    key = from_global_id(relationship_id, "Relationship", "relationshipId")
    async with await ctx.uow() as uow:
        return await relationships.update(uow, await ctx.actor(), key, changes, clock.today())


async def end(ctx: Context, relationship_id: str, valid_to: date | None) -> RelationshipRecord:
    key = from_global_id(relationship_id, "Relationship", "relationshipId")
    async with await ctx.uow() as uow:
        return await relationships.end(uow, await ctx.actor(), key, valid_to, clock.today())
