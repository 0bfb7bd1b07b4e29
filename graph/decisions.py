"""Cypher of decision maps: the subgraph around a committee on a date (one query), the people
next to changed contacts, and introduction paths. Dates are ISO strings; an edge holds on
`asOf` when validFrom <= asOf and (validTo is null or asOf <= validTo)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from graph.engine import GraphEngine

_VALID = "{r}.validFrom <= $asOf AND ({r}.validTo IS NULL OR $asOf <= {r}.validTo)"
_EDGE = ("RETURN r.id AS id, type(r) AS kind, a.id AS fromId, b.id AS toId, "
         "coalesce(r.weight, r.strength) AS weight, r.manual AS manual, "
         "r.validFrom AS validFrom, r.validTo AS validTo")
# The committee's ties (both directions), then who of our staff knows any person tied to it.
_SUBGRAPH = f"""
UNWIND $members AS mid
MATCH (a:Contact {{id: mid}})-[r:INFLUENCES|REPORTS_TO]->(b:Contact)
WHERE {_VALID.format(r="r")}
{_EDGE}
UNION
UNWIND $members AS mid
MATCH (a:Contact)-[r:INFLUENCES|REPORTS_TO]->(b:Contact {{id: mid}})
WHERE {_VALID.format(r="r")}
{_EDGE}
UNION
UNWIND $members AS mid
MATCH (:Contact {{id: mid}})-[:INFLUENCES|REPORTS_TO*0..1]-(b:Contact)
WITH DISTINCT b
MATCH (a:User)-[r:KNOWS]->(b)
WHERE {_VALID.format(r="r")}
{_EDGE}
"""
_NEIGHBOURS = """
UNWIND $ids AS cid
MATCH (:Contact {id: cid})-[:INFLUENCES|REPORTS_TO*0..1]-(n:Contact)
RETURN DISTINCT n.id AS id
"""


@dataclass(frozen=True)
class Edge:
    id: str
    kind: str
    from_id: str
    to_id: str
    weight: float | None
    manual: bool
    valid_from: str | None
    valid_to: str | None


async def committee_subgraph(engine: GraphEngine, member_ids: Sequence[str],
                             as_of: str) -> list[Edge]:
    """Every tie of a committee's members valid on `as_of`, and the KNOWS edges of our staff
    into them and the people tied to them, in one query (deduplicated, by id)."""
    if not member_ids:
        return []
    rows = await engine.read(_SUBGRAPH, {"members": list(member_ids), "asOf": as_of})
    found = {row["id"]: Edge(row["id"], row["kind"], row["fromId"], row["toId"],
                             None if row["weight"] is None else float(row["weight"]),
                             bool(row["manual"]), row["validFrom"], row["validTo"])
             for row in rows}
    return [found[key] for key in sorted(found)]


async def neighbours(engine: GraphEngine, contact_ids: Sequence[str]) -> set[str]:
    """The contacts and everyone directly tied to them (any period)."""
    if not contact_ids:
        return set()
    return {row["id"] for row in await engine.read(_NEIGHBOURS, {"ids": list(contact_ids)})}


@dataclass(frozen=True)
class Path:
    nodes: tuple[str, ...]
    kinds: tuple[str, ...]
    strengths: tuple[float, ...]
    strength: float


def _paths_cypher(max_hops: int) -> str:
    if not 1 <= max_hops <= 4:
        raise ValueError("max_hops out of range")
    return f"""
MATCH p = (:User {{id: $from}})-[:KNOWS]->(:Contact)
          -[:INFLUENCES|REPORTS_TO*0..{int(max_hops) - 1}]-(:Contact {{id: $to}})
WHERE all(r IN relationships(p) WHERE {_VALID.format(r="r")})
WITH p, [r IN relationships(p) | coalesce(r.strength, r.weight, $reportsTo)] AS strengths
WITH p, strengths, reduce(s = 1.0, x IN strengths | s * x) AS strength
WHERE strength > 0
RETURN [n IN nodes(p) | n.id] AS nodes, [r IN relationships(p) | type(r)] AS kinds,
       strengths, strength
ORDER BY strength DESC, size(nodes(p)) LIMIT $cap
"""


async def introduction_paths(engine: GraphEngine, from_id: str, to_id: str, max_hops: int,
                             as_of: str, cap: int, reports_to: float) -> list[Path]:
    """The strongest paths (product of edge strengths) from a staff user over a KNOWS edge and
    up to `max_hops - 1` ties (either direction) to a contact, valid on `as_of`; at most
    `cap`, strongest first (REPORTS_TO counts `reports_to`)."""
    rows = await engine.read(_paths_cypher(max_hops), {
        "from": from_id, "to": to_id, "asOf": as_of, "cap": cap, "reportsTo": reports_to})
    return [Path(tuple(row["nodes"]), tuple(row["kinds"]),
                 tuple(float(x) for x in row["strengths"]), float(row["strength"]))
            for row in rows]
