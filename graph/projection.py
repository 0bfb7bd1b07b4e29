"""The projector: applies committed outbox events to the graph right after commit (woken by
the unit of work and by `NOTIFY` from other instances), retries while the graph is down, and
lets a writer wait until its own events are applied (read your own writes)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from graph.engine import GraphEngine, GraphUnavailable
from graph.projector import GraphEvent, apply

log = logging.getLogger(__name__)
_BATCH = 500
_REMEMBERED = 10_000  # ids of recently applied events, for writers waiting on them
_POLL_SECONDS = 0.05  # how often a waiting writer asks whether another instance applied it


Claimed = list[tuple[int, str, dict[str, Any]]]


class EventSource(Protocol):
    """Where events come from (the ledger's outbox, wired by the composition root)."""

    def claim(self, limit: int) -> AbstractAsyncContextManager[Claimed | None]: ...

    async def pending_count(self) -> int: ...

    async def projected(self, ids: Sequence[int]) -> set[int]: ...


class Follower(Protocol):
    """Work that follows the projection (influence scores): called with every batch right
    after the graph applied it, before the batch is marked projected, so a failure retries."""

    async def follow(self, events: Sequence[GraphEvent]) -> None: ...


class Projector:
    def __init__(self, source: EventSource, graph: GraphEngine, *,
                 retry_seconds: float) -> None:
        self._source = source
        self._graph = graph
        self._followers: list[Follower] = []
        self._retry = retry_seconds
        self._wake = asyncio.Event()
        self._applied: OrderedDict[int, None] = OrderedDict()
        self._progress = asyncio.Event()
        self.healthy = True

    def wake(self) -> None:
        self._wake.set()

    def add_follower(self, follower: Follower) -> None:
        self._followers.append(follower)

    async def project_once(self) -> int | None:
        """Project one batch; None when another instance holds the projector lock."""
        async with self._source.claim(_BATCH) as events:
            if events is None:
                return None
            if events:
                batch = [GraphEvent(topic, payload) for _, topic, payload in events]
                await apply(self._graph, batch)
                for follower in self._followers:
                    await follower.follow(batch)
        self._remember([event_id for event_id, _, _ in events])
        return len(events)

    def _remember(self, ids: list[int]) -> None:
        for event_id in ids:
            self._applied[event_id] = None
        while len(self._applied) > _REMEMBERED:
            self._applied.popitem(last=False)
        if ids:
            self._progress.set()
            self._progress = asyncio.Event()

    async def catch_up(self) -> int:
        """Project until the outbox is empty; raises GraphUnavailable if the graph is down."""
        total = 0
        while (done := await self.project_once()) is not None and done > 0:
            total += done
        return total

    async def wait_for(self, ids: Sequence[int], seconds: float) -> bool:
        """True once every event in `ids` is in the graph (projected here or by another
        instance), False if `seconds` pass first: the write is safe either way."""
        waiting = set(ids)
        if not waiting:
            return True
        self.wake()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                while True:
                    waiting -= self._applied.keys()
                    if not waiting:
                        return True
                    progress = self._progress
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(progress.wait(), _POLL_SECONDS)
                    if not progress.is_set():
                        waiting -= await self._source.projected(sorted(waiting))
        return False

    async def drain(self, seconds: float = 30.0) -> None:
        """Wait until nothing is pending (whoever projects it); for tests and the CLI."""
        async with asyncio.timeout(seconds):
            while True:
                try:
                    await self.catch_up()
                except GraphUnavailable:
                    await asyncio.sleep(0.2)
                    continue
                if await self._source.pending_count() == 0:
                    return
                await asyncio.sleep(0.05)

    async def run(self) -> None:
        """Background loop of the app: woken on commit (and by NOTIFY), retries on failure."""
        while True:
            self._wake.clear()
            try:
                await self.catch_up()
                self.healthy = True
            except GraphUnavailable as error:
                if self.healthy:
                    log.warning("graph unreachable, events stay in the outbox: %s", error)
                self.healthy = False
            except Exception:
                log.exception("projector failed; retrying from the outbox")
                self.healthy = False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._retry)
