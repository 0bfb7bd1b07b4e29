"""The composition root: the one place that builds the stores (ledger engine, graph driver,
key ring) from the factories of `relational/`, `graph/` and `auth/`, and starts what runs
beside requests (the graph projector, the subscription dispatcher and their `LISTEN` wake-up).
`app.py`, `cli.py`, the tests and the bench all come through here; services never build a
client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

from auth import audit_chain
from auth.field_cipher import FieldCipher
from auth.keys import load_or_create
from graph.engine import connect
from graph.projection import Projector
from jobs import scheduler
from jobs.runtime import JobRuntime
from relational.database import make_engine, make_sessionmaker
from relational.ledger import Ledger
from relational.listener import listen
from relational.repositories.audit import Chain
from relational.repositories.outbox import OutboxSource
from services import stream_subjects, subscriptions, webhooks
from services.clock import Clock
from services.event_stream import Dispatcher
from services.influence import InfluenceFollower
from services.stores import Stores
from settings import Settings

# The audit log's SM3 hash chain, handed to every unit of work (relational/ cannot import auth/).
AUDIT_CHAIN = Chain(genesis=audit_chain.GENESIS, link=audit_chain.link)


@dataclass(frozen=True)
class Runtime:
    """Open stores wired to their projector: commits wake it, writers can wait for it."""

    stores: Stores
    projector: Projector
    dispatcher: Dispatcher | None = None  # live subscriptions (none for a lone job worker)

    @property
    def jobs(self) -> JobRuntime:
        """What the scheduler's tasks run with (`jobs.runtime.current()`)."""
        return JobRuntime(self.stores)


@asynccontextmanager
async def open_stores(settings: Settings, *, pool_size: int, clock: Clock | None = None,
                      jobs: bool = True) -> AsyncIterator[Runtime]:
    """Connect to the stores named in `settings` (and, unless `jobs` is False, the job
    scheduler to the ledger: one ledger per process may have it, so a second ledger opened
    beside it — a restored copy being checked — goes without); closed again on exit. The keys
    come from settings or `$DATA_DIR/keys.env`. Nothing runs in the background: see
    `running`."""
    if not settings.database_url or not settings.graph_url:
        raise RuntimeError("DATABASE_URL and GRAPH_URL must be set")
    keyring, blind_key = load_or_create(settings)
    engine = make_engine(settings.database_url, pool_size=pool_size,
                         connect_timeout=settings.db_connect_timeout_seconds,
                         pool_timeout=settings.db_pool_timeout_seconds)
    graph = connect(settings.graph_url, settings.graph_name,
                    timeout_seconds=settings.graph_timeout_seconds)
    sessionmaker = make_sessionmaker(engine)
    projector = Projector(OutboxSource(sessionmaker), graph,
                          retry_seconds=settings.projector_retry_seconds)
    woken: list[Callable[[], None]] = [projector.wake]

    def committed() -> None:
        for wake in woken:
            wake()

    ledger = Ledger(sessionmaker, AUDIT_CHAIN, on_commit=committed)
    projector.add_follower(InfluenceFollower(ledger, graph))
    cipher = FieldCipher(keyring, blind_key)
    stores = Stores(ledger, graph, settings, cipher=cipher, clock=clock or Clock())
    dispatcher = Dispatcher(
        ledger.read, {topic: found.stream for topic, found in subscriptions.TOPICS.items()},
        stream_subjects.loaders(ledger.read, cipher),
        poll_seconds=settings.subscription_poll_seconds,
        retention=timedelta(days=settings.event_retention_days),
        queue_limit=settings.subscription_queue_limit)
    woken.append(dispatcher.wake)
    loaders = stream_subjects.loaders(ledger.read, cipher)

    def hand_on(position: int) -> Awaitable[bool]:
        return webhooks.fan_out(ledger, loaders, position, stores.clock.now())

    dispatcher.after = hand_on
    try:
        if not jobs:
            yield Runtime(stores, projector, dispatcher)
            return
        async with scheduler.opened(settings.database_url,
                                    pool_size=settings.worker_concurrency + 2):
            yield Runtime(stores, projector, dispatcher)
    finally:
        await graph.close()
        await engine.dispose()


@asynccontextmanager
async def running(runtime: Runtime, *, worker: bool = False) -> AsyncIterator[Runtime]:
    """The projector loop and the outbox listener, for as long as the block runs; with
    `worker`, a job worker too (stopped cleanly on exit)."""
    settings = runtime.stores.settings
    if not settings.database_url:
        raise RuntimeError("DATABASE_URL must be set")
    projector, dispatcher = runtime.projector, runtime.dispatcher

    def wake() -> None:
        projector.wake()
        if dispatcher is not None:
            dispatcher.wake()

    tasks = [asyncio.create_task(projector.run()),
             asyncio.create_task(listen(settings.database_url, "outbox", wake,
                                        retry_seconds=settings.projector_retry_seconds))]
    if dispatcher is not None:
        await dispatcher.start()
        tasks.append(asyncio.create_task(dispatcher.run()))
    try:
        if worker:
            async with scheduler.worker(runtime.jobs,
                                        concurrency=settings.worker_concurrency):
                yield runtime
        else:
            yield runtime
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

