"""Cypher for company group structures. Depth bounds are validated integers, never user text."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from graph.engine import GraphEngine
from graph.rows import parse_share


@dataclass(frozen=True)
class OwnershipEdge:
    parent_id: str
    child_id: str
    share_pct: Decimal  # a stake in %: 60 means 60 %


def _bound(max_depth: int) -> int:
    if not 1 <= max_depth <= 100:
        raise ValueError("max_depth out of range")
    return int(max_depth)


# One text per edge, "parent child share": a group of ten thousand companies answers ten
# thousand rows, and the engine's serialisation and the client's parsing cost per value, not
# per character (a quarter of the values halves the query's time on FalkorDB). Ids are UUIDs
# and shares decimal texts, so a space never occurs inside a part.
_EDGE_TEXT = "p.id + ' ' + c.id + ' ' + toString(r.share) AS edge"


def _edges(rows: list[dict[str, Any]]) -> dict[str, list[OwnershipEdge]]:
    grouped: dict[str, list[OwnershipEdge]] = defaultdict(list)
    for row in rows:
        parent, child, share = str(row["edge"]).split(" ")
        grouped[row["root"]].append(OwnershipEdge(parent, child, parse_share(share)))
    return grouped


async def ancestor_edges(
    engine: GraphEngine, ids: Sequence[str], max_depth: int
) -> dict[str, list[OwnershipEdge]]:
    """For each id, every OWNS edge among its ancestors (the upward subgraph), in one query."""
    cypher = f"""
    UNWIND $ids AS root
    MATCH (c:Account)-[:OWNS*0..{_bound(max_depth)}]->(:Account {{id: root}})
    WITH DISTINCT root, c
    MATCH (p:Account)-[r:OWNS]->(c)
    RETURN root, {_EDGE_TEXT}
    """
    return _edges(await engine.read(cypher, {"ids": list(ids)}))


async def descendant_edges(
    engine: GraphEngine, ids: Sequence[str], max_depth: int
) -> dict[str, list[OwnershipEdge]]:
    """For each id, every OWNS edge below it, up to `max_depth` levels, in one query."""
    cypher = f"""
    UNWIND $ids AS root
    MATCH (:Account {{id: root}})-[:OWNS*0..{_bound(max_depth) - 1}]->(p:Account)
    WITH DISTINCT root, p
    MATCH (p)-[r:OWNS]->(c:Account)
    RETURN root, {_EDGE_TEXT}
    """
    return _edges(await engine.read(cypher, {"ids": list(ids)}))
