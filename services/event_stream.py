"""The dispatcher: reads the outbox as an ordered log (its own position, never the projector's
marks), woken by the unit of work on commit and by `NOTIFY outbox` from every instance, with a
polling fallback, and fans each event out to the subscribers of this instance in id order.

Ids are taken before commit, so a lower id may commit after a higher one. The dispatcher never
passes a missing id while the transaction that may hold it can still commit: it waits until
every transaction that was running when the gap was seen has ended (twice, so that a writer
between taking its id and its transaction id is covered), then skips the id for good. Every id
at or below `position` is therefore final: a replay up to it and live delivery after it meet
without gap or duplicate."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from relational.ledger import Reader
from relational.repositories import event_log
from relational.repositories.event_log import LoggedEvent

log = logging.getLogger(__name__)
_BATCH = 1000
_GAP_RETRY_SECONDS = 0.02
_REMEMBERED = 100_000  # last known subject per record, for REVOKED and DELETED decisions

# What a stream knows about the records of a batch of its events: subject per aggregate id.
Prepare = Callable[[Sequence[LoggedEvent]], Awaitable[dict[str, Any]]]


@dataclass
class Dispatched:
    """One event as subscribers receive it: its subject (the record now, None when gone) and
    the subject of the record's previous event seen by this process (None: unknown)."""

    event: LoggedEvent
    stream: str
    subject: Any
    before: Any
    cursor: str | None = None  # sealed once, shared by every subscriber


class Sink(Protocol):
    """What the dispatcher hands events to: one subscriber's queue, or a group of them."""

    streams: frozenset[str]

    def offer_all(self, items: Sequence[Dispatched]) -> None: ...

    def serves(self, identity: str) -> int: ...


@dataclass(eq=False)
class Listener:
    """One subscriber's bounded queue. `overflowed` once it fell `limit` events behind: it
    stops receiving and its subscription ends with a resumable close."""

    streams: frozenset[str]
    identity: str
    queue: asyncio.Queue[Dispatched]
    overflowed: bool = False

    def offer(self, item: Dispatched) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.overflowed = True

    def offer_all(self, items: Sequence[Dispatched]) -> None:
        """A batch of its streams' events, in id order (the dispatcher's one call per batch)."""
        for item in items:
            self.offer(item)

    def serves(self, identity: str) -> int:
        """How many subscriptions of `identity` this listener carries."""
        return 1 if self.identity == identity else 0

    async def next(self) -> Dispatched:
        return await self.queue.get()


class Dispatcher:
    def __init__(self, read: Reader, streams: dict[str, str], prepare: dict[str, Prepare], *,
                 poll_seconds: float, retention: timedelta, queue_limit: int) -> None:
        self._read = read
        self._streams = streams  # topic → stream
        self._prepare = prepare  # stream → loader of its subjects
        self._poll = poll_seconds
        self.retention = retention
        self.queue_limit = queue_limit
        self._wake = asyncio.Event()
        self._listeners: set[Sink] = set()
        self._last: OrderedDict[tuple[str, str], Any] = OrderedDict()
        self._gap: tuple[int, int, int] | None = None  # (first missing id, xmax, phase)
        self.position: int | None = None  # None until started
        self._progress = asyncio.Event()
        self._pruned_at: datetime | None = None
        # Durable consumers of the same final positions (webhooks): called after progress.
        self.after: Callable[[int], Awaitable[bool]] | None = None  # True: call again
        self._handed: int | None = None

    def wake(self) -> None:
        self._wake.set()

    def stream_of(self, topic: str) -> str | None:
        return self._streams.get(topic)

    async def start(self) -> None:
        """Live delivery begins after everything committed so far (a replay covers the rest)."""
        if self.position is None:
            async with self._read() as session:
                self.position = await event_log.head(session)

    def listen(self, streams: frozenset[str], identity: str) -> tuple[Listener, int]:
        """A new listener and the position it starts after: every later event reaches it."""
        if self.position is None:
            raise RuntimeError("dispatcher not started")
        listener = Listener(streams, identity, asyncio.Queue(self.queue_limit))
        self._listeners.add(listener)
        return listener, self.position

    def attach(self, listener: Sink) -> int:
        """Register a listener of its own kind (a group of subscribers); the position it
        starts after."""
        if self.position is None:
            raise RuntimeError("dispatcher not started")
        self._listeners.add(listener)
        return self.position

    def leave(self, listener: Sink) -> None:
        self._listeners.discard(listener)

    @property
    def listeners(self) -> int:
        return len(self._listeners)

    def active(self, identity: str) -> int:
        """Subscriptions this instance serves to one identity."""
        return sum(listener.serves(identity) for listener in self._listeners)

    async def prepare(self, stream: str, events: Sequence[LoggedEvent]) -> dict[str, Any]:
        return await self._prepare[stream](events)

    async def dispatch_once(self) -> int:
        """Deliver what is final after `position`; the number of events passed."""
        await self.start()
        position = self.position or 0
        async with self._read() as session:
            batch = await event_log.read_after(session, position, _BATCH)
        ready = self._final(position, batch)
        if not ready:
            return 0
        await self._fan_out(ready)
        self.position = ready[-1].id
        self._progress.set()
        self._progress = asyncio.Event()
        return len(ready)

    def _final(self, position: int, batch: event_log.Batch) -> list[LoggedEvent]:
        expected, ready = position + 1, []
        for event in batch.events:
            if event.id != expected and not self._gap_closed(expected, batch):
                break
            ready.append(event)
            expected = event.id + 1
        if self._gap is not None and self._gap[0] < expected:
            # The missing id committed meanwhile: the gap is passed, not pending (else the
            # run loop would wait on it for ever and never hand on to the webhooks).
            self._gap = None
        return ready

    def _gap_closed(self, missing: int, batch: event_log.Batch) -> bool:
        """True once the ids from `missing` on cannot commit any more (see the module doc)."""
        if self._gap is None or self._gap[0] != missing:
            self._gap = (missing, batch.xmax, 0)
            return False
        _, xmax, phase = self._gap
        if batch.xmin < xmax:
            return False
        if phase == 0:
            self._gap = (missing, batch.xmax, 1)
            return False
        self._gap = None
        return True

    async def _fan_out(self, events: list[LoggedEvent]) -> None:
        by_stream: dict[str, list[LoggedEvent]] = {}
        for event in events:
            stream = self._streams.get(event.topic)
            if stream is not None:
                by_stream.setdefault(stream, []).append(event)
        subjects: dict[str, dict[str, Any]] = {}
        wanted = {stream for listener in self._listeners for stream in listener.streams}
        for stream, found in by_stream.items():
            subjects[stream] = await self._prepare[stream](found) if stream in wanted else {}
        items: list[Dispatched] = []
        for event in events:
            stream = self._streams.get(event.topic)
            if stream is None:
                continue
            subject = subjects[stream].get(event.aggregate_id)
            items.append(Dispatched(event, stream, subject,
                                    self._remember(stream, event, subject)))
        per_stream: dict[str, list[Dispatched]] = {}
        for item in items:
            per_stream.setdefault(item.stream, []).append(item)
        # One call per listener and batch: a group of thousands of subscribers is one listener.
        for listener in list(self._listeners):
            if len(listener.streams) == 1:
                mine = per_stream.get(next(iter(listener.streams)), [])
            else:
                mine = [item for item in items if item.stream in listener.streams]
            if mine:
                listener.offer_all(mine)

    def _remember(self, stream: str, event: LoggedEvent, subject: Any) -> Any:
        key = (stream, event.aggregate_id)
        before = self._last.pop(key, None)
        if subject is not None:
            self._last[key] = subject
            while len(self._last) > _REMEMBERED:
                self._last.popitem(last=False)
        return before

    async def wait_past(self, event_id: int, seconds: float) -> bool:
        """True once `position` has reached `event_id` (for tests and the bench)."""
        async with asyncio.timeout(seconds):
            while (self.position or 0) < event_id:
                self.wake()
                progress = self._progress
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(progress.wait(), 0.05)
        return True

    async def run(self) -> None:
        """Background loop: woken on commit and by NOTIFY, else polls every `poll_seconds`."""
        while True:
            self._wake.clear()
            try:
                while await self.dispatch_once() or self._gap is not None:
                    if self._gap is not None:
                        await asyncio.sleep(_GAP_RETRY_SECONDS)
                await self._hand_on()
                await self._prune()
            except Exception:
                log.exception("subscription dispatcher failed; retrying from the outbox")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll)

    async def _hand_on(self) -> None:
        """Give the final position to the durable consumer until it has caught up."""
        if self.after is None or self.position is None or self._handed == self.position:
            return
        while await self.after(self.position):
            pass
        self._handed = self.position

    async def _prune(self) -> None:
        """Once an hour: events past the retention that the graph has applied go."""
        now = datetime.now(UTC)
        if self._pruned_at is not None and now - self._pruned_at < timedelta(hours=1):
            return
        self._pruned_at = now
        async with self._read() as session:
            dropped = await event_log.prune(session, now - self.retention)
            await session.commit()
        if dropped:
            log.info("pruned %d outbox events older than %s", dropped, self.retention)
