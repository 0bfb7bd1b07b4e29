"""Live change streams: which outbox topics feed which subscription (one table: a domain adds
its topics here; what each stream loads is `services.stream_subjects`), and one subscriber's
view of a stream — replay after a cursor, then live, decided per event and subscriber by the
one visibility rule (`services.policy.sees`), with one REVOKED when a record leaves the
subscriber's scope."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from auth.actor import Actor
from relational.ledger import Reader
from relational.repositories import event_log
from relational.repositories.event_log import LoggedEvent
from relational.uow import UnitOfWork
from services.errors import BadUserInput, DomainError, ErrorCode
from services.event_stream import Dispatched, Dispatcher
from services.pagination import open_cursor, seal_cursor
from services.stream_subjects import Edge, Ownership, Subject


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
    "relationship.deleted": Topic("relationship", "DELETED"),  # gone with a deleted contact
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
class View:
    """What one subscriber has been shown: records delivered and records revoked."""

    actor: Actor
    matches: Callable[[str, Any], bool]
    shown: set[str] = field(default_factory=set)
    revoked: set[str] = field(default_factory=set)

    def decide(self, secret: bytes, item: Dispatched) -> Change | None:
        if item.cursor is None:
            item.cursor = seal(secret, item.stream, item.event)
        subject, before = item.subject, item.before
        now_visible = subject is not None and self._sees(subject)
        hit = now_visible and self.matches(TOPICS[item.event.topic].kind, subject.record)
        return self.decided(item, now_visible, hit, before is not None and self._sees(before))

    def decided(self, item: Dispatched, now_visible: bool, hit: bool,
                before_seen: bool) -> Change | None:
        """The change this subscriber gets, given what its authorization decides about the
        event: the record is visible now (`now_visible`), and matches the filter too (`hit`),
        and the record's previous subject was visible (`before_seen`)."""
        event, cursor = item.event, item.cursor or ""
        kind = TOPICS[event.topic].kind
        key = event.aggregate_id
        if hit:
            self.shown.add(key)
            self.revoked.discard(key)
            return Change(cursor, kind, key, event.at, item.subject.record, event.topic)
        was = key in self.shown or before_seen
        if not was or key in self.revoked or now_visible:
            return None
        self.shown.discard(key)
        if kind == "DELETED" and item.subject is None:
            return Change(cursor, kind, key, event.at, None, event.topic)
        self.revoked.add(key)
        return Change(cursor, "REVOKED", key, event.at, None, event.topic)

    def _sees(self, subject: Subject) -> bool:
        return subject.visible_to(self.actor)


async def replay(dispatcher: Dispatcher, read: Reader, stream: str, after: int,
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
    view = View(actor, matches)
    try:
        if start is not None:
            async for item in replay(dispatcher, read, stream, start, position):
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
