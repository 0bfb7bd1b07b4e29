"""What each stream loads about the records of a batch of its events (one query per batch and
table): the record now and its `RecordScope` — who may see it, as the SQL visibility builders
decide it — so that each subscriber and webhook decides in memory (`Subject.visible_to`)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import Actor
from auth.field_cipher import FieldCipher
from relational.ledger import Reader
from relational.models import Relationship
from relational.repositories import accounts as account_repo
from relational.repositories import contacts as contact_repo
from relational.repositories import opportunities as opportunity_repo
from relational.repositories import relationships as relationship_repo
from relational.repositories import tag_rules as tag_repo
from relational.repositories import tickets as ticket_repo
from relational.repositories.event_log import LoggedEvent
from relational.repositories.visibility import TOP_LEVEL, Visibility
from services import contact_fields
from services.account_tags import with_rule_tags
from services.accounts import AccountRecord
from services.event_stream import Prepare
from services.opportunities import OpportunityRecord
from services.policy import RecordScope, sees
from services.relationship_rows import ENDS, RelationshipRecord
from services.tickets import TicketRecord

EVERYTHING = Visibility(everything=True, max_level=TOP_LEVEL)  # the dispatcher's own loads


def loaders(read: Reader, cipher: FieldCipher) -> dict[str, Prepare]:
    """stream → how the dispatcher loads the subjects of a batch."""
    return {"account": partial(_accounts, read), "contact": partial(_contacts, read, cipher),
            "relationship": partial(_relationships, read),
            "opportunity": partial(_opportunities, read), "ticket": partial(_tickets, read),
            "security": _security}


@dataclass(frozen=True)
class Subject:
    """A record as its event is delivered: the record now and who may see it (None: anyone
    holding the stream's permission, e.g. security events for auditors), or through one of
    `alternatives` (a deal: also its owner and the owner's department); `requires`: records
    the subscriber must see as well (an edge's other end); `permission`: what reading the
    record needs beyond the stream's own (an edge: `relationship:read`, as its queries)."""

    record: Any
    scope: RecordScope | None
    alternatives: tuple[RecordScope, ...] = ()
    requires: tuple[RecordScope, ...] = ()
    permission: str | None = None

    def visible_to(self, actor: Actor) -> bool:
        if self.permission is not None and not actor.can(self.permission):
            return False
        reached = (self.scope is None or sees(actor, self.scope)
                   or any(sees(actor, other) for other in self.alternatives))
        return reached and all(sees(actor, other) for other in self.requires)


@dataclass(frozen=True)
class Ownership:
    parent_id: uuid.UUID
    child_id: uuid.UUID
    share_pct: Decimal | None


@dataclass(frozen=True)
class Edge:
    """A decision-map or supply edge with the accounts at or behind its ends (the filter's)."""

    record: RelationshipRecord
    account_ids: frozenset[uuid.UUID]


@dataclass(frozen=True)
class SecurityRecord:
    operation: str
    actor: str | None
    target_ids: tuple[str, ...]
    ip: str | None
    details: dict[str, Any]


def _scope(row: Any, level: int | None = None) -> RecordScope:
    return RecordScope(row.owner_id, row.department_id, row.region,
                       max(row.classification, level or 0))


async def _accounts(read: Reader, events: Sequence[LoggedEvent]) -> dict[str, Any]:
    ids = [uuid.UUID(event.aggregate_id) for event in events]
    async with read() as session:
        rows = await account_repo.get_many(session, ids, EVERYTHING)
        by_rules = await tag_repo.rule_tags(session, list(rows))
    # The payload's tags: those set by hand and those rules set.
    return {str(key): Subject(replace(AccountRecord.of(row), tags=with_rule_tags(
        row.tags, by_rules.get(key, []))), _scope(row)) for key, row in rows.items()}


async def _contacts(read: Reader, cipher: FieldCipher,
                    events: Sequence[LoggedEvent]) -> dict[str, Any]:
    ids = [uuid.UUID(event.aggregate_id) for event in events]
    async with read() as session:
        rows = await contact_repo.get_many(session, ids, EVERYTHING)
        owners = await account_repo.get_many(
            session, [row.account_id for row in rows.values()], EVERYTHING)
    return {str(key): Subject(contact_fields.reveal(cipher, row),
                              _scope(owners[row.account_id], row.classification))
            for key, row in rows.items() if row.account_id in owners}


async def _ownerships(read: Reader, events: Sequence[LoggedEvent]) -> dict[str, Any]:
    if not events:
        return {}
    async with read() as session:
        rows = await account_repo.get_many(
            session, [uuid.UUID(event.aggregate_id) for event in events], EVERYTHING)
    found: dict[str, Any] = {}
    for event in events:  # the edge of the latest event of each child wins
        child = rows.get(uuid.UUID(event.aggregate_id))
        if child is not None:
            found[event.aggregate_id] = Subject(Ownership(
                uuid.UUID(event.payload["parentId"]), child.id,
                Decimal(event.payload["share"]) if event.topic == "ownership.linked"
                else None), _scope(child))
    return found


async def _opportunities(read: Reader, events: Sequence[LoggedEvent]) -> dict[str, Any]:
    async with read() as session:
        rows = await opportunity_repo.get_many(
            session, [uuid.UUID(event.aggregate_id) for event in events], EVERYTHING)
        owners = await account_repo.get_many(
            session, [row.account_id for row in rows.values()], EVERYTHING)
    return {str(key): Subject(OpportunityRecord.of(row), _scope(owners[row.account_id]), (
        RecordScope(row.owner_id, row.department_id, None,
                    owners[row.account_id].classification),))
            for key, row in rows.items() if row.account_id in owners}


async def _tickets(read: Reader, events: Sequence[LoggedEvent]) -> dict[str, Any]:
    async with read() as session:
        rows = await ticket_repo.get_many(
            session, [uuid.UUID(event.aggregate_id) for event in events], EVERYTHING)
        owners = await account_repo.get_many(
            session, [row.account_id for row in rows.values()], EVERYTHING)
    return {str(key): Subject(TicketRecord.of(row), _scope(owners[row.account_id]))
            for key, row in rows.items() if row.account_id in owners}


async def _relationships(read: Reader, events: Sequence[LoggedEvent]) -> dict[str, Any]:
    """Shareholdings (keyed by the account held) and the other edges (by their id)."""
    owned = [event for event in events if event.topic.startswith("ownership.")]
    others = [event for event in events if not event.topic.startswith("ownership.")]
    return {**await _ownerships(read, owned), **await _edges(read, others)}


async def _security(events: Sequence[LoggedEvent]) -> dict[str, Any]:
    return {event.aggregate_id: Subject(SecurityRecord(
        event.payload["operation"], event.payload.get("actor"),
        tuple(event.payload.get("targetIds") or ()), event.payload.get("ip"),
        event.payload.get("details") or {}), None) for event in events}


async def _edges(read: Reader, events: Sequence[LoggedEvent]) -> dict[str, Any]:
    """An edge is shown to who sees every contact or account end (`relationships._require_end`
    asks the same of its writer)."""
    if not events:
        return {}
    async with read() as session:
        rows = await relationship_repo.get_many(
            session, [uuid.UUID(event.aggregate_id) for event in events])
        ends = await _ends(session, list(rows.values()))
    found: dict[str, Any] = {}
    for key, row in rows.items():
        scopes = [ends.get(end) for end, type_name in zip(
            (row.from_id, row.to_id), ENDS[row.kind], strict=True) if type_name != "User"]
        if all(scopes):  # an end that is gone: nobody is shown the edge
            known = [scope for scope in scopes if scope is not None]
            found[str(key)] = Subject(
                Edge(RelationshipRecord.of(row), frozenset(
                    account for account, _ in known)),
                known[0][1], requires=tuple(scope for _, scope in known[1:]),
                permission="relationship:read")
    return found


async def _ends(session: AsyncSession, rows: Sequence[Relationship]
                ) -> dict[uuid.UUID, tuple[uuid.UUID, RecordScope]]:
    """Each contact or account end → (its account, its scope as `contacts_readable` or
    `accounts_readable` decide it); staff users (KNOWS) are no end of anyone's scope."""
    ids = [end for row in rows for end in (row.from_id, row.to_id)]
    contacts = await contact_repo.get_many(session, ids, EVERYTHING)
    accounts = await account_repo.get_many(
        session, ids + [row.account_id for row in contacts.values()], EVERYTHING)
    found = {key: (key, _scope(row)) for key, row in accounts.items()}
    found.update({key: (row.account_id, _scope(accounts[row.account_id], row.classification))
                  for key, row in contacts.items() if row.account_id in accounts})
    return found
