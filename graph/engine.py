"""The one protocol both graph engines implement, and the factory choosing between them."""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any, Protocol

Row = dict[str, Any]


class RoundTrips:
    """Process-wide count of graph round trips, for query-count tests, benchmarks and the
    metrics; and the count of the current request (its log line), when one is being kept."""

    total = 0
    current: ContextVar[list[int] | None] = ContextVar("graph_round_trips", default=None)

    @classmethod
    def count(cls) -> None:
        cls.total += 1
        mine = cls.current.get()
        if mine is not None:
            mine[0] += 1


class GraphUnavailable(Exception):
    """The graph engine cannot be reached; the projector retries from the outbox."""


class GraphEngine(Protocol):
    """Runs parameterised Cypher (the subset shared by Neo4j 5 and FalkorDB 4) and returns rows
    of maps/scalars keyed by the RETURN aliases."""

    name: str

    async def read(self, cypher: str, params: Mapping[str, Any] | None = None) -> list[Row]: ...

    async def write(self, cypher: str, params: Mapping[str, Any] | None = None) -> list[Row]: ...

    async def ensure_schema(self) -> None: ...

    async def clear(self) -> None: ...

    async def close(self) -> None: ...


def connect(url: str, graph_name: str, *, timeout_seconds: float = 3.0) -> GraphEngine:
    """`neo4j://`, `neo4j+s://`, `bolt://` → Neo4j; `falkordb://`, `redis://` → FalkorDB.
    `timeout_seconds` bounds connecting plus retrying, so an unreachable graph fails within
    about that long on either engine (the Neo4j driver alone would retry for 30 s)."""
    scheme = url.split("://", 1)[0].lower()
    if scheme in {"neo4j", "neo4j+s", "neo4j+ssc", "bolt", "bolt+s", "bolt+ssc"}:
        from graph.neo4j_engine import Neo4jEngine

        return Neo4jEngine(url, database=graph_name, timeout_seconds=timeout_seconds)
    if scheme in {"falkordb", "falkor", "redis", "unix"}:
        from graph.falkor import FalkorEngine

        return FalkorEngine(url, graph_name=graph_name, timeout_seconds=timeout_seconds)
    raise ValueError(f"unsupported GRAPH_URL scheme {scheme!r}")
