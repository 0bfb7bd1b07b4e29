"""Neo4j 5 through the official async driver (production, docker-compose)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from neo4j import AsyncGraphDatabase, RoutingControl
from neo4j.exceptions import ServiceUnavailable, SessionExpired

from graph.engine import GraphUnavailable, RoundTrips, Row

_CONSTRAINTS = (
    "CREATE CONSTRAINT account_id IF NOT EXISTS FOR (n:Account) REQUIRE n.id IS UNIQUE",
    "CREATE CONSTRAINT contact_id IF NOT EXISTS FOR (n:Contact) REQUIRE n.id IS UNIQUE",
    "CREATE CONSTRAINT user_id IF NOT EXISTS FOR (n:User) REQUIRE n.id IS UNIQUE",
)


def _split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    parts = urlsplit(url)
    if parts.username is None:
        return url, None
    host = parts.hostname or "localhost"
    netloc = f"{host}:{parts.port}" if parts.port else host
    clean = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return clean, (unquote(parts.username), unquote(parts.password or ""))


class Neo4jEngine:
    name = "neo4j"

    def __init__(self, url: str, *, database: str, timeout_seconds: float = 3.0) -> None:
        uri, auth = _split_credentials(url)
        # Half the budget to connect, half to retry: a stopped server fails in seconds, as on
        # FalkorDB, instead of after the driver's default 30 s retry budget.
        self._driver = AsyncGraphDatabase.driver(
            uri, auth=auth, connection_timeout=timeout_seconds / 2,
            connection_acquisition_timeout=timeout_seconds,
            max_transaction_retry_time=timeout_seconds / 2)
        # Community edition has only the default database; "crm" maps to it.
        self._database = None if database == "crm" else database

    async def _run(
        self, cypher: str, params: Mapping[str, Any] | None, routing: RoutingControl
    ) -> list[Row]:
        RoundTrips.count()
        try:
            result = await self._driver.execute_query(
                cypher, dict(params or {}), database_=self._database, routing_=routing
            )
        except (ServiceUnavailable, SessionExpired, OSError) as error:
            raise GraphUnavailable(str(error)) from error
        return [record.data() for record in result.records]

    async def read(self, cypher: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        return await self._run(cypher, params, RoutingControl.READ)

    async def write(self, cypher: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        return await self._run(cypher, params, RoutingControl.WRITE)

    async def ensure_schema(self) -> None:
        for statement in _CONSTRAINTS:
            await self.write(statement)

    async def clear(self) -> None:
        await self.write("MATCH (n) DETACH DELETE n")

    async def close(self) -> None:
        await self._driver.close()
