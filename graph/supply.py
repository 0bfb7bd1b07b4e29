"""Cypher for supply webs: the SUPPLIES edges (supplier → buyer) around accounts, valid on a
day, in one query. Depth bounds are validated integers, never user text; dates are ISO
strings, compared as strings (contract H)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from graph.engine import GraphEngine

MAX_DEPTH = 5
_VALID = "r.validFrom <= $asOf AND (r.validTo IS NULL OR $asOf <= r.validTo)"


@dataclass(frozen=True)
class SupplyEdge:
    """A SUPPLIES edge as the graph holds it: supplier → buyer."""

    id: str
    supplier_id: str
    buyer_id: str
    criticality: str  # LOW, MEDIUM, HIGH, SOLE_SOURCE
    share_pct: Decimal | None  # of the buyer's need, in %; None when not known
    products: tuple[str, ...] = ()


def _bound(depth: int) -> int:
    if not 1 <= depth <= MAX_DEPTH:
        raise ValueError("depth out of range")
    return int(depth)


def _share(value: object) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation as error:
        raise ValueError(f"not a share: {value!r}") from error


def _edge(row: dict[str, Any]) -> SupplyEdge:
    return SupplyEdge(id=row["id"], supplier_id=row["supplier"], buyer_id=row["buyer"],
                      criticality=row["criticality"], share_pct=_share(row["share"]),
                      products=tuple(row["products"] or ()))


def _cypher(upstream: bool, depth: int) -> str:
    # Every account within depth − 1 hops (over any SUPPLIES edge: the walk only bounds the
    # subgraph), then its edges valid on the day that lead one hop further away; the caller
    # walks the valid edges again to find the tiers.
    hops = _bound(depth) - 1
    if upstream:
        walk = f"(a:Account)-[:SUPPLIES*0..{hops}]->(:Account {{id: root}})"
        step = "(s:Account)-[r:SUPPLIES]->(a)"
        ends = "s.id AS supplier, a.id AS buyer"
    else:
        walk = f"(:Account {{id: root}})-[:SUPPLIES*0..{hops}]->(a:Account)"
        step = "(a)-[r:SUPPLIES]->(b:Account)"
        ends = "a.id AS supplier, b.id AS buyer"
    return f"""
    UNWIND $ids AS root
    MATCH {walk}
    WITH DISTINCT root, a
    MATCH {step}
    WHERE {_VALID}
    RETURN root, r.id AS id, {ends}, r.criticality AS criticality, r.share AS share,
           r.products AS products
    """


async def edges_around(
    engine: GraphEngine, ids: Sequence[str], *, upstream: bool, depth: int, as_of: date
) -> dict[str, list[SupplyEdge]]:
    """For each id, the SUPPLIES edges valid on `as_of` within `depth` hops towards its
    suppliers (`upstream`) or its customers (a superset of its chain: the tiers are found by
    walking these again)."""
    rows = await engine.read(_cypher(upstream, depth),
                             {"ids": list(ids), "asOf": as_of.isoformat()})
    found: dict[str, list[SupplyEdge]] = defaultdict(list)
    for row in rows:
        found[row["root"]].append(_edge(row))
    return found
