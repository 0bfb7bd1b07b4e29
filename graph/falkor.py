"""FalkorDB through its own asyncio client (its Bolt port is experimental and unusable)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from falkordb.asyncio import FalkorDB
from falkordb.asyncio.graph import AsyncGraph
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from graph.engine import GraphUnavailable, RoundTrips, Row

_UNIQUE_IDS = (("Account", "id"), ("Contact", "id"), ("User", "id"))


class FalkorEngine:
    name = "falkordb"

    def __init__(self, url: str, *, graph_name: str, timeout_seconds: float = 3.0) -> None:
        if url.startswith("falkordb://"):
            url = "redis://" + url.removeprefix("falkordb://")
        self._url, self._graph_name, self._timeout = url, graph_name, timeout_seconds
        self._db: FalkorDB | None = None
        self._client: AsyncGraph | None = None

    async def _connected(self) -> tuple[FalkorDB, AsyncGraph]:
        """The client, made on first use: FalkorDB's constructor probes the server (whether it
        is a cluster) synchronously, so it is made off the event loop, and a server that is
        down at start-up is a GraphUnavailable to retry, not a start-up failure."""
        if self._db is None or self._client is None:
            try:
                db = await asyncio.to_thread(
                    # Pooled connections die with a server restart: idle ones are pinged
                    # before use, and a failed command is retried on a fresh connection.
                    FalkorDB.from_url, self._url, socket_connect_timeout=self._timeout / 3,
                    socket_timeout=30, health_check_interval=5,
                    retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=2),
                    retry_on_error=[RedisConnectionError, RedisTimeoutError])
            except (RedisConnectionError, RedisTimeoutError, OSError) as error:
                raise GraphUnavailable(str(error)) from error
            self._db, self._client = db, db.select_graph(self._graph_name)
        return self._db, self._client

    async def _run(
        self, cypher: str, params: Mapping[str, Any] | None, *, read_only: bool
    ) -> list[Row]:
        RoundTrips.count()
        arguments = dict(params or {})
        db, graph = await self._connected()
        query = graph.ro_query if read_only else graph.query
        try:
            try:
                result = await query(cypher, arguments)
            except RedisConnectionError:
                # Every pooled connection may be from before a restart: drop them all once.
                await db.connection.connection_pool.disconnect()
                result = await query(cypher, arguments)
        except (RedisConnectionError, RedisTimeoutError, OSError) as error:
            raise GraphUnavailable(str(error)) from error
        columns = [column[1] for column in result.header]
        return [dict(zip(columns, row, strict=True)) for row in result.result_set]

    async def read(self, cypher: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        return await self._run(cypher, params, read_only=True)

    async def write(self, cypher: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        return await self._run(cypher, params, read_only=False)

    async def ensure_schema(self) -> None:
        _, graph = await self._connected()
        for label, prop in _UNIQUE_IDS:
            try:
                await graph.create_node_unique_constraint(label, prop)
            except ResponseError as error:
                if "already" not in str(error).lower():
                    raise
            except (RedisConnectionError, OSError) as error:
                raise GraphUnavailable(str(error)) from error

    async def clear(self) -> None:
        await self.write("MATCH (n) DETACH DELETE n")

    async def close(self) -> None:
        if self._db is not None:
            await self._db.aclose()
