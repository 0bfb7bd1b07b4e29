"""The graph projector: applies committed outbox events to the graph, right after commit, and
keeps retrying from the outbox while the graph is unreachable."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import psycopg
from sqlalchemy import make_url

from graph import projector as graph_projector
from graph.engine import GraphUnavailable
from graph.projector import GraphEvent
from relational.repositories import outbox
from services.stores import Stores

log = logging.getLogger(__name__)
_BATCH = 500


class Projector:
    def __init__(self, stores: Stores) -> None:
        self._stores = stores
        self._wake = asyncio.Event()
        self.healthy = True

    def wake(self) -> None:
        self._wake.set()

    async def project_once(self) -> int | None:
        """Project one batch; None when another instance holds the projector lock."""
        async with self._stores.sessionmaker() as session, session.begin():
            if not await outbox.try_lock_projector(session):
                return None
            events = await outbox.pending(session, _BATCH)
            if not events:
                return 0
            await graph_projector.apply(
                self._stores.graph, [GraphEvent(event.topic, event.payload) for event in events]
            )
            await outbox.mark_projected(session, [event.id for event in events])
            return len(events)

    async def catch_up(self) -> int:
        """Project until the outbox is empty; raises GraphUnavailable if the graph is down."""
        total = 0
        while (done := await self.project_once()) is not None and done > 0:
            total += done
        return total

    async def drain(self, seconds: float = 30.0) -> None:
        """Wait until nothing is pending (whoever projects it); for tests and the CLI."""
        async with asyncio.timeout(seconds):
            while True:
                try:
                    await self.catch_up()
                except GraphUnavailable:
                    await asyncio.sleep(0.2)
                    continue
                async with self._stores.read() as session:
                    if await outbox.pending_count(session) == 0:
                        return
                await asyncio.sleep(0.05)

    async def run(self) -> None:
        """Background loop of the app: woken on commit (and by NOTIFY), retries on failure."""
        retry = self._stores.settings.projector_retry_seconds
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
                await asyncio.wait_for(self._wake.wait(), timeout=retry)

    async def listen(self, database_url: str) -> None:
        """Wake on `NOTIFY outbox` from any app instance sharing this database."""
        conninfo = make_url(database_url).set(drivername="postgresql")
        dsn = conninfo.render_as_string(hide_password=False)
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
                    await conn.execute("LISTEN outbox")
                    async for _ in conn.notifies():
                        self.wake()
            except (psycopg.Error, OSError) as error:
                log.warning("outbox listener reconnecting: %s", error)
                await asyncio.sleep(self._stores.settings.projector_retry_seconds)
