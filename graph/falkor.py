"""FalkorDB through its own asyncio client (its Bolt port is experimental and unusable)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from falkordb.asyncio import FalkorDB
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from graph.engine import GraphUnavailable, RoundTrips, Row

_UNIQUE_IDS = (("Account", "id"), ("Contact", "id"))


class FalkorEngine:
    name = "falkordb"

    def __init__(self, url: str, *, graph_name: str, timeout_seconds: float = 3.0) -> None:
        if url.startswith("falkordb://"):
            url = "redis://" + url.removeprefix("falkordb://")
        # Pooled connections die with a server restart: idle ones are pinged before use, and a
        # failed command is retried on a fresh connection.
        self._db = FalkorDB.from_url(
            url, socket_connect_timeout=timeout_seconds / 3, socket_timeout=30,
            health_check_interval=5,
            retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=2),
            retry_on_error=[RedisConnectionError, RedisTimeoutError])
        self._graph = self._db.select_graph(graph_name)

    async def _run(
        self, cypher: str, params: Mapping[str, Any] | None, *, read_only: bool
    ) -> list[Row]:
        RoundTrips.total += 1
        arguments = dict(params or {})
        query = self._graph.ro_query if read_only else self._graph.query
        try:
            try:
                result = await query(cypher, arguments)
            except RedisConnectionError:
                # Every pooled connection may be from before a restart: drop them all once.
                await self._db.connection.connection_pool.disconnect()
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
        for label, prop in _UNIQUE_IDS:
            try:
                await self._graph.create_node_unique_constraint(label, prop)
            except ResponseError as error:
                if "already" not in str(error).lower():
                    raise
            except (RedisConnectionError, OSError) as error:
                raise GraphUnavailable(str(error)) from error

    async def clear(self) -> None:
        await self.write("MATCH (n) DETACH DELETE n")

    async def close(self) -> None:
        await self._db.aclose()
