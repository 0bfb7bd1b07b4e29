"""The stores and the app under test: embedded (or given) PostgreSQL and FalkorDB, and the real
Starlette app served by uvicorn on a loopback port inside this process."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from app import create_app
from bench.config import DATABASE_NAME, GRAPH_NAME, BenchConfig, progress
from graph.engine import connect
from relational.database import make_engine, make_sessionmaker
from services.stores import Stores
from settings import Settings


@dataclass(frozen=True)
class Urls:
    database: str
    graph: str


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
        yield Urls(database, graph)
        progress("stopping the stores")


def app_settings(urls: Urls, workdir: Path) -> Settings:
    return Settings(  # type: ignore[call-arg]  # _env_file: a stray .env must not steer us
        database_url=urls.database, graph_url=urls.graph, graph_name=GRAPH_NAME,
        introspection=True, graphiql=False, seed_demo=False, data_dir=workdir,
        # The projector's idle poll would add its SQL to the per-request counts.
        projector_retry_seconds=3600.0, log_level="WARNING", _env_file=None,
    )


@contextlib.asynccontextmanager
async def direct_stores(settings: Settings) -> AsyncIterator[Stores]:
    """Stores for work outside the app (the graph rebuild)."""
    if not settings.database_url or not settings.graph_url:
        raise RuntimeError("stores are not up")
    engine = make_engine(settings.database_url, pool_size=2)
    graph = connect(settings.graph_url, settings.graph_name)
    try:
        await graph.ensure_schema()
        yield Stores(make_sessionmaker(engine), graph, settings)
    finally:
        await graph.close()
        await engine.dispose()


@contextlib.asynccontextmanager
async def serve(settings: Settings) -> AsyncIterator[str]:
    """The app on a free loopback port; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                            log_level="warning", lifespan="on", access_log=False)
    server = uvicorn.Server(config)
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
