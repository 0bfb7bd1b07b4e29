"""The stores and the app under test: embedded (or given) PostgreSQL and FalkorDB, and the real
Starlette app served by uvicorn on a loopback port inside this process."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import redis.asyncio
import uvicorn
from starlette.types import ASGIApp

from app import create_app
from bench.config import DATABASE_NAME, GRAPH_NAME, BenchConfig, progress
from composition import open_stores
from services.stores import Stores
from settings import Settings

_QUIET_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Urls:
    database: str
    graph: str
    postgres_dir: Path | None = None  # data dirs of embedded stores (to find their processes)
    graph_dir: Path | None = None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def stores_up(config: BenchConfig, workdir: Path) -> Iterator[Urls]:
    """The given stores, or embedded ones under `workdir` stopped when the block exits (also on
    Ctrl-C or an error)."""
    with contextlib.ExitStack() as stack:
        database = config.database_url
        if database is None:
            from relational.embedded import EmbeddedPostgres, create_database

            progress("starting embedded PostgreSQL")
            postgres = EmbeddedPostgres(workdir / "pg", port=free_port())
            stack.callback(postgres.stop)
            database = create_database(postgres.start(), DATABASE_NAME)
        graph = config.graph_url
        if graph is None:
            from graph.embedded import EmbeddedFalkorDB

            progress("starting embedded FalkorDB")
            falkor = EmbeddedFalkorDB(workdir / "graph")
            stack.callback(falkor.stop)
            graph = falkor.start()
        yield Urls(database, graph, None if config.database_url else workdir / "pg",
                   None if config.graph_url else workdir / "graph")
        progress("stopping the stores")


async def wait_until_quiet(graph_url: str) -> None:
    """After a bulk load FalkorDB's redis forks to save a snapshot and rewrite its append-only
    file; on 2 cores that would compete with the measured requests, so wait it out."""
    if not graph_url.startswith(("falkordb://", "falkor://", "redis://")):
        return
    client = redis.asyncio.Redis.from_url("redis://" + graph_url.split("://", 1)[1])
    try:
        deadline = time.monotonic() + _QUIET_TIMEOUT_S
        while time.monotonic() < deadline:
            info = await client.info("persistence")
            busy = [key for key in ("rdb_bgsave_in_progress", "aof_rewrite_in_progress",
                                    "aof_rewrite_scheduled") if info.get(key)]
            if not busy:
                return
            progress(f"waiting for FalkorDB's background save ({', '.join(busy)})")
            await asyncio.sleep(2)
    finally:
        await client.aclose()


def app_settings(urls: Urls, workdir: Path) -> Settings:
    return Settings(  # type: ignore[call-arg]  # _env_file: a stray .env must not steer us
        database_url=urls.database, graph_url=urls.graph, graph_name=GRAPH_NAME,
        introspection=True, graphiql=False, seed_demo=False, data_dir=workdir,
        # The projector's idle poll would add its SQL to the per-request counts.
        projector_retry_seconds=3600.0, log_level="WARNING", _env_file=None,
        # One user sends ~1,300 requests in a couple of minutes: the limiter must keep
        # counting (its cost is part of every request) but never refuse; and the access
        # token must outlive a slow run.
        rate_limit_per_minute=10**9, anonymous_rate_limit_per_minute=10**9,
        access_token_minutes=120,
        # Likewise the sensitive-read counter of (d1)'s finance user (500 masked reads a
        # request) keeps counting, but never raises its burst alarm, a path that would add a
        # statement to every request after the first of each minute.
        sensitive_reads_per_minute=10**9,
    )


@contextlib.asynccontextmanager
async def direct_stores(settings: Settings) -> AsyncIterator[Stores]:
    """Stores for work outside the app (the graph rebuild)."""
    # Keys come from the bench's work directory, the same the app reads.
    async with open_stores(settings, pool_size=2) as runtime:
        await runtime.stores.graph.ensure_schema()
        yield runtime.stores


class _Server(uvicorn.Server):
    """Leaves Ctrl-C to `asyncio.run`, which cancels the benchmark and so stops this server,
    instead of uvicorn stopping the server under the running benchmark."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def serve(settings: Settings) -> contextlib.AbstractAsyncContextManager[str]:
    """The app on a free loopback port; yields its base URL."""
    return serve_asgi(create_app(settings))


@contextlib.asynccontextmanager
async def serve_asgi(app: ASGIApp) -> AsyncIterator[str]:
    """An ASGI app (with its lifespan) on a free loopback port; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port,
                            log_level="warning", lifespan="on", access_log=False)
    server = _Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("the server stopped before it started")
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
