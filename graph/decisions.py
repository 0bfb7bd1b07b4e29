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
