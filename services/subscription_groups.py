"""Subscribers who would receive every event alike share the work of rendering it.

A group is every live subscription of one process with the same stream, the same
authorization (the actor with everything that decides what it may see: user, roles,
permissions, data scope, departments, regions, clearance, step-up state; only the session id
is left out) and the same operation (document, variables, operation name — so the same
selection set and filter). The group is one listener of the dispatcher: per event it decides
once what that authorization sees (visible now, matching the filter, visible before) and
renders each outcome the event needs (the change, REVOKED or DELETED) once, as the JSON text
of the `next` payload. What a subscriber was shown (and whether it was sent REVOKED) stays
its own: each member decides its outcome from the group's answers and its own view, in its
own task, and sends the shared text on its own socket. A member that falls `limit` events
behind is closed (1013) as before and resumes from its cursor; a slow socket holds up only
its own member."""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections import deque
from collections.abc import AsyncIterator, Callable, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from auth.actor import Actor
from relational.ledger import Reader
from services.event_stream import Dispatched, Dispatcher
from services.subscriptions import (
    TOPICS,
    Change,
    SubscriberTooSlow,
    View,
    opened,
    replay,
    seal,
)


@dataclass(frozen=True)
class Rendered:
    """One outcome of one event as the group's operation renders it: the `next` payload as
    JSON text, and what its execution noted for the read audit (each member records it as
    its own read)."""

    payload: str
    notes: object


class Renderer(Protocol):
    """Runs the group's operation for one change at a time (the resolver layer's)."""

    async def render(self, change: Change) -> Rendered: ...

    async def aclose(self) -> None: ...


@dataclass(eq=False)
class Shared:
    """One event as the group's authorization decides it, with its outcomes once rendered."""

    item: Dispatched
    now_visible: bool
    hit: bool
    before_seen: bool
    rendered: dict[str, asyncio.Future[Rendered]] = field(default_factory=dict)


@dataclass(eq=False)
class Member:
    """One subscription of a group: its own view and its own bounded backlog."""

    view: View
    limit: int
    items: deque[Shared] = field(default_factory=deque)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    overflowed: bool = False

    def offer_all(self, shared: Sequence[Shared]) -> None:
        if self.overflowed:
            return
        if len(self.items) + len(shared) > self.limit:
            self.overflowed = True
            self.items.clear()
        else:
            self.items.extend(shared)
        self.ready.set()

    async def next(self) -> Shared:
        while not self.items:
            if self.overflowed:
                raise SubscriberTooSlow
            self.ready.clear()
            await self.ready.wait()
        if self.overflowed:
            raise SubscriberTooSlow
        return self.items.popleft()


class Group:
    def __init__(self, key: Hashable, stream: str, actor: Actor,
                 matches: Callable[[str, object], bool], secret: bytes,
                 renderer: Renderer) -> None:
        self.key, self.streams = key, frozenset({stream})
        self._actor, self._matches, self._secret = actor, matches, secret
        self._renderer = renderer
        self._lock = asyncio.Lock()  # the operation renders one change at a time
        self.members: set[Member] = set()

    def offer_all(self, items: Sequence[Dispatched]) -> None:
        shared = [self._share(item) for item in items]
        for member in list(self.members):
            member.offer_all(shared)

    def serves(self, identity: str) -> int:
        return len(self.members) if self._actor.label == identity else 0

    def _share(self, item: Dispatched) -> Shared:
        if item.cursor is None:
            item.cursor = seal(self._secret, item.stream, item.event)
        subject, before = item.subject, item.before
        now = subject is not None and subject.visible_to(self._actor)
        hit = now and self._matches(TOPICS[item.event.topic].kind, subject.record)
        return Shared(item, now, hit, before is not None and before.visible_to(self._actor))

    async def rendered(self, shared: Shared, change: Change) -> Rendered:
        """The outcome's text, rendered by the first member that needs it (a member that
        goes away meanwhile does not cancel it for the others)."""
        variant = "SHOWN" if shared.hit else change.kind
        found = shared.rendered.get(variant)
        if found is None:
            found = shared.rendered[variant] = asyncio.ensure_future(self._render(change))
        if found.done():  # the usual case: another member rendered it
            return found.result()
        return await asyncio.shield(found)

    async def _render(self, change: Change) -> Rendered:
        async with self._lock:
            return await self._renderer.render(change)

    async def close(self) -> None:
        async with self._lock:
            await self._renderer.aclose()


_GROUPS: weakref.WeakKeyDictionary[Dispatcher, dict[Hashable, Group]] = (
    weakref.WeakKeyDictionary())
_CLOSING: set[asyncio.Task[None]] = set()


def _join(dispatcher: Dispatcher, key: Hashable, make: Callable[[], Group],
          member: Member) -> tuple[Group, int]:
    groups = _GROUPS.setdefault(dispatcher, {})
    group = groups.get(key)
    if group is None:
        group = groups[key] = make()
        dispatcher.attach(group)
    group.members.add(member)
    return group, dispatcher.position or 0


def _leave(dispatcher: Dispatcher, group: Group, member: Member) -> None:
    group.members.discard(member)
    groups = _GROUPS.get(dispatcher, {})
    if group.members or groups.get(group.key) is not group:
        return
    del groups[group.key]
    dispatcher.leave(group)
    task = asyncio.ensure_future(group.close())
    _CLOSING.add(task)
    task.add_done_callback(_CLOSING.discard)


@dataclass(frozen=True)
class Subscription:
    """What one subscriber asks for, and how its group renders it."""

    stream: str
    after: str | None
    matches: Callable[[str, object], bool]
    key: Hashable  # the operation and the authorization context (see the module doc)
    renderer: Callable[[], Renderer]  # the group's, made by its first member
    limit: int


async def changes(dispatcher: Dispatcher, read: Reader, secret: bytes, actor: Actor,
                  wanted: Subscription) -> AsyncIterator[Change | Rendered]:
    """A replay of what followed `after` (Changes, each rendered by the subscriber's own
    operation), then live outcomes rendered once per group: without gap or duplicate, as
    `subscriptions.changes`."""
    stream = wanted.stream
    start = None if wanted.after is None else opened(secret, dispatcher, stream, wanted.after,
                                                     datetime.now(UTC))
    await dispatcher.start()
    member = Member(View(actor, wanted.matches), wanted.limit)
    group, position = _join(dispatcher, (stream, wanted.key), lambda: Group(
        (stream, wanted.key), stream, actor, wanted.matches, secret, wanted.renderer()),
        member)
    try:
        if start is not None:
            async for item in replay(dispatcher, read, stream, start, position):
                if (change := member.view.decide(secret, item)) is not None:
                    yield change
        while True:
            shared = await member.next()
            change = member.view.decided(shared.item, shared.now_visible, shared.hit,
                                         shared.before_seen)
            if change is not None:
                yield await group.rendered(shared, change)
    finally:
        with contextlib.suppress(Exception):
            _leave(dispatcher, group, member)
