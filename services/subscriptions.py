"""Live change streams: which outbox topics feed which subscription (one table: a domain adds
its topics here), what each stream loads about the records of a batch, and one subscriber's
view of a stream — replay after a cursor, then live, decided per event and subscriber by the
one visibility rule (`services.policy.sees`), with one REVOKED when a record leaves the
subscriber's scope."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import Actor
from auth.field_cipher import FieldCipher
from relational.ledger import Reader
from relational.models import Relationship
from relational.repositories import accounts as account_repo
from relational.repositories import contacts as contact_repo
from relational.repositories import event_log
from relational.repositories import opportunities as opportunity_repo
from relational.repositories import relationships as relationship_repo
from relational.repositories import tickets as ticket_repo
from relational.repositories.event_log import LoggedEvent
from relational.repositories.visibility import TOP_LEVEL, Visibility
from relational.uow import UnitOfWork
from services import contact_fields
from services.accounts import AccountRecord
from services.errors import BadUserInput, DomainError, ErrorCode
from services.event_stream import Dispatched, Dispatcher, Prepare
from services.opportunities import OpportunityRecord
from services.pagination import open_cursor, seal_cursor
from services.policy import RecordScope, sees
from services.relationship_rows import ENDS, RelationshipRecord
from services.tickets import TicketRecord

EVERYTHING = Visibility(everything=True, max_level=TOP_LEVEL)  # the dispatcher's own loads


@dataclass(frozen=True)
class Topic:
    stream: str
    kind: str  # CREATED | UPDATED | DELETED | LINKED | UNLINKED


# Outbox topic → stream and change kind. Adding a domain's stream is a few lines: its topics
# here, a loader in `loaders()`, a root field in schema/subscriptions.py.
TOPICS: dict[str, Topic] = {
    "account.created": Topic("account", "CREATED"),
    "account.updated": Topic("account", "UPDATED"),
    "account.disrupted": Topic("account", "UPDATED"),
    "account.disruptionCleared": Topic("account", "UPDATED"),
    "contact.created": Topic("contact", "CREATED"),
    "contact.updated": Topic("contact", "UPDATED"),
    "contact.deleted": Topic("contact", "DELETED"),
    "ownership.linked": Topic("relationship", "LINKED"),
    "ownership.unlinked": Topic("relationship", "UNLINKED"),
    "relationship.created": Topic("relationship", "LINKED"),
    "relationship.updated": Topic("relationship", "UPDATED"),
    "relationship.ended": Topic("relationship", "UNLINKED"),  # valid_to set; history keeps it
    # A move to WON or LOST is two events: the stage change and the close (`topic` tells).
    "opportunity.created": Topic("opportunity", "CREATED"),
    "opportunity.updated": Topic("opportunity", "UPDATED"),
    "opportunity.stage_changed": Topic("opportunity", "UPDATED"),
    "opportunity.won": Topic("opportunity", "UPDATED"),
    "opportunity.lost": Topic("opportunity", "UPDATED"),
    "ticket.created": Topic("ticket", "CREATED"),
    "ticket.transitioned": Topic("ticket", "UPDATED"),
    "ticket.assigned": Topic("ticket", "UPDATED"),
    "ticket.escalated": Topic("ticket", "UPDATED"),
    "audit.security": Topic("security", "CREATED"),
}


def topics_of(stream: str) -> tuple[str, ...]:
    return tuple(topic for topic, found in TOPICS.items() if found.stream == stream)


@dataclass(frozen=True)
class Subject:
    """A record as its event is delivered: the record now and who may see it (None: anyone
    holding the stream's permission, e.g. security events for auditors), or through one of
    `alternatives` (a deal: also its owner and the owner's department); `requires`: records
    the subscriber must see as well (an edge's other end)."""

    record: Any
    scope: RecordScope | None
    alternatives: tuple[RecordScope, ...] = ()
    requires: tuple[RecordScope, ...] = ()

    def visible_to(self, actor: Actor) -> bool:
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


def loaders(read: Reader, cipher: FieldCipher) -> dict[str, Prepare]:
    """stream → how the dispatcher loads the subjects of a batch (one query per batch)."""

    async def accounts(events: Sequence[LoggedEvent]) -> dict[str, Any]:
        ids = [uuid.UUID(event.aggregate_id) for event in events]
        async with read() as session:
            rows = await account_repo.get_many(session, ids, EVERYTHING)
        return {str(key): Subject(AccountRecord.of(row), _scope(row)) for key, row in rows.items()}

    async def contacts(events: Sequence[LoggedEvent]) -> dict[str, Any]:
        ids = [uuid.UUID(event.aggregate_id) for event in events]
        async with read() as session:
            rows = await contact_repo.get_many(session, ids, EVERYTHING)
            owners = await account_repo.get_many(
                session, [row.account_id for row in rows.values()], EVERYTHING)
        return {str(key): Subject(contact_fields.reveal(cipher, row),
                                  _scope(owners[row.account_id], row.classification))
                for key, row in rows.items() if row.account_id in owners}

    async def ownerships(events: Sequence[LoggedEvent]) -> dict[str, Any]:
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

    async def opportunities(events: Sequence[LoggedEvent]) -> dict[str, Any]:
        async with read() as session:
            rows = await opportunity_repo.get_many(
                session, [uuid.UUID(event.aggregate_id) for event in events], EVERYTHING)
            owners = await account_repo.get_many(
                session, [row.account_id for row in rows.values()], EVERYTHING)
        return {str(key): Subject(OpportunityRecord.of(row), _scope(owners[row.account_id]), (
            RecordScope(row.owner_id, row.department_id, None,
                        owners[row.account_id].classification),))
                for key, row in rows.items() if row.account_id in owners}

    async def tickets(events: Sequence[LoggedEvent]) -> dict[str, Any]:
        async with read() as session:
            rows = await ticket_repo.get_many(
                session, [uuid.UUID(event.aggregate_id) for event in events], EVERYTHING)
            owners = await account_repo.get_many(
                session, [row.account_id for row in rows.values()], EVERYTHING)
        return {str(key): Subject(TicketRecord.of(row), _scope(owners[row.account_id]))
                for key, row in rows.items() if row.account_id in owners}

    async def relationships(events: Sequence[LoggedEvent]) -> dict[str, Any]:
        owned = [event for event in events if event.topic.startswith("ownership.")]
        return {**await ownerships(owned), **await edges(
            [event for event in events if not event.topic.startswith("ownership.")])}

    async def security(events: Sequence[LoggedEvent]) -> dict[str, Any]:
        return {event.aggregate_id: Subject(SecurityRecord(
            event.payload["operation"], event.payload.get("actor"),
            tuple(event.payload.get("targetIds") or ()), event.payload.get("ip"),
            event.payload.get("details") or {}), None) for event in events}

    async def edges(events: Sequence[LoggedEvent]) -> dict[str, Any]:
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
                    known[0][1], requires=tuple(scope for _, scope in known[1:]))
        return found

    return {"account": accounts, "contact": contacts, "relationship": relationships,
            "opportunity": opportunities, "ticket": tickets, "security": security}


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


@dataclass(frozen=True)
class Change:
    """One delivered change: `record` is None for DELETED and REVOKED."""

    cursor: str
    kind: str
    record_id: str
    at: datetime
    record: Any | None
    topic: str  # the outbox event type (`opportunity.stage_changed`, `ownership.linked`, …)


class CursorExpired(BadUserInput):
    """The cursor is older than the retention: events after it may be gone."""


class TooManySubscriptions(DomainError):
    code = ErrorCode.RATE_LIMITED


class SubscriberTooSlow(Exception):
    """The subscriber fell a whole queue behind; it resumes from its last cursor."""


def _cursor_kind(stream: str) -> str:
    return f"events/{stream}"


def seal(secret: bytes, stream: str, event: LoggedEvent) -> str:
    return seal_cursor(secret, _cursor_kind(stream), [str(event.id), event.at.isoformat()])


def opened(secret: bytes, dispatcher: Dispatcher, stream: str, cursor: str,
           now: datetime) -> int:
    """The event id of a cursor of this stream; CursorExpired past the retention."""
    event_id, at = open_cursor(secret, cursor, _cursor_kind(stream), 2)
    when = datetime.fromisoformat(str(at))
    if now - when > dispatcher.retention:
        days = dispatcher.retention.total_seconds() / 86400
        raise CursorExpired(f"`after` is older than the {days:g}-day retention: subscribe "
                            "without it and reload the current state", field="after")
    return int(str(event_id))


@dataclass
class _View:
    """What one subscriber has been shown: records delivered and records revoked."""

    actor: Actor
    matches: Callable[[str, Any], bool]
    shown: set[str] = field(default_factory=set)
    revoked: set[str] = field(default_factory=set)

    def decide(self, secret: bytes, item: Dispatched) -> Change | None:
        event, subject, before = item.event, item.subject, item.before
        if item.cursor is None:
            item.cursor = seal(secret, item.stream, event)
        cursor = item.cursor
        kind = TOPICS[event.topic].kind
        key = event.aggregate_id
        now_visible = subject is not None and self._sees(subject)
        if now_visible and self.matches(kind, subject.record):
            self.shown.add(key)
            self.revoked.discard(key)
            return Change(cursor, kind, key, event.at, subject.record, event.topic)
        was = key in self.shown or (before is not None and self._sees(before))
        if not was or key in self.revoked or now_visible:
            return None
        self.shown.discard(key)
        if kind == "DELETED" and subject is None:
            return Change(cursor, kind, key, event.at, None, event.topic)
        self.revoked.add(key)
        return Change(cursor, "REVOKED", key, event.at, None, event.topic)

    def _sees(self, subject: Subject) -> bool:
        return subject.visible_to(self.actor)


async def _replay(dispatcher: Dispatcher, read: Reader, stream: str, after: int,
                  until: int) -> AsyncIterator[Dispatched]:
    """Events of the stream in (after, until] from the outbox, each with its subject."""
    topics, last = topics_of(stream), after
    memory: dict[str, Any] = {}
    while last < until:
        async with read() as session:
            batch = await event_log.read_after(session, last, 500, topics)
        events = [event for event in batch.events if event.id <= until]
        if not events:
            return
        subjects = await dispatcher.prepare(stream, events)
        for event in events:
            subject = subjects.get(event.aggregate_id)
            yield Dispatched(event, stream, subject, memory.get(event.aggregate_id))
            memory[event.aggregate_id] = subject
        last = events[-1].id


async def changes(dispatcher: Dispatcher, read: Reader, secret: bytes, actor: Actor,
                  stream: str, after: str | None,
                  matches: Callable[[str, Any], bool]) -> AsyncIterator[Change]:
    """The subscriber's changes: a replay of what followed `after`, then live ones, without
    gap or duplicate (live delivery starts exactly where the replay ends)."""
    start = None if after is None else opened(secret, dispatcher, stream, after,
                                               datetime.now(UTC))
    await dispatcher.start()
    listener, position = dispatcher.listen(frozenset({stream}), actor.label)
    view = _View(actor, matches)
    try:
        if start is not None:
            async for item in _replay(dispatcher, read, stream, start, position):
                if (change := view.decide(secret, item)) is not None:
                    yield change
        while True:
            if listener.overflowed:
                raise SubscriberTooSlow
            item = await listener.next()
            if (change := view.decide(secret, item)) is not None:
                yield change
    finally:
        dispatcher.leave(listener)


async def record_start(uow: UnitOfWork, actor: Actor, dispatcher: Dispatcher, field_name: str,
                       arguments: dict[str, Any], limit: int) -> None:
    """Every subscribe attempt is audited; past the per-identity limit it is refused."""
    active = dispatcher.active(actor.label)
    if active >= limit:
        raise TooManySubscriptions(f"at most {limit} subscriptions per identity").recorded(
            "denied", [], {"operation": f"subscription.{field_name}", "reason": "tooMany"})
    uow.audit(f"subscription.{field_name}", [], after={"arguments": arguments})


@dataclass(frozen=True)
class StreamFilter:
    """A subscriber's conditions (all given ones must hold); REVOKED always passes."""

    ids: frozenset[str] = frozenset()
    account_ids: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()
    kinds: frozenset[str] = frozenset()
    operations: frozenset[str] = frozenset()

    def matches(self, kind: str, record: Any) -> bool:
        if self.kinds and kind not in self.kinds:
            return False
        if self.ids and str(getattr(record, "id", "")) not in self.ids:
            return False
        if self.regions and getattr(record, "region", None) not in self.regions:
            return False
        if self.operations and getattr(record, "operation", None) not in self.operations:
            return False
        return not self.account_ids or bool(self.account_ids & _accounts_of(record))


def _accounts_of(record: Any) -> set[str]:
    if isinstance(record, Ownership):
        return {str(record.parent_id), str(record.child_id)}
    if isinstance(record, Edge):
        return {str(account) for account in record.account_ids}
    return {str(getattr(record, "account_id", getattr(record, "id", "")))}
