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
# One edge as two values, its text fields packed (the clients parse every value of a result
# one by one in Python; a map's subgraph has about a thousand edges): "id kind from to
# validFrom validTo manual" (absent: "-") and the weight (-1.0: none; a float stays exact).
_PACKED = ("RETURN r.id + ' ' + type(r) + ' ' + a.id + ' ' + b.id + ' ' + "
           "coalesce(r.validFrom, '-') + ' ' + coalesce(r.validTo, '-') + ' ' + "
           "CASE WHEN r.manual THEN 't' ELSE 'f' END AS e, "
           "coalesce(r.weight, r.strength, -1.0) AS w")
# The committee's ties (both directions), then who of our staff knows any person tied to it.
_SUBGRAPH = f"""
UNWIND $members AS mid
MATCH (a:Contact {{id: mid}})-[r:INFLUENCES|REPORTS_TO]->(b:Contact)
WHERE {_VALID.format(r="r")}
{_PACKED}
UNION
UNWIND $members AS mid
MATCH (a:Contact)-[r:INFLUENCES|REPORTS_TO]->(b:Contact {{id: mid}})
WHERE {_VALID.format(r="r")}
{_PACKED}
UNION
UNWIND $members AS mid
MATCH (:Contact {{id: mid}})-[:INFLUENCES|REPORTS_TO*0..1]-(b:Contact)
WITH DISTINCT b
MATCH (b)<-[r:KNOWS]-(a:User)
WHERE {_VALID.format(r="r")}
{_PACKED}
"""
# Every tie valid on a day, grouped by one end so a row carries many: the ties' text fields
# in one string ("kind id other kind id other …"), their weights (-1.0: none) in a list in the
# same order.
_ALL_TIES = """
MATCH (a:Contact)-[r:INFLUENCES|REPORTS_TO]->(b:Contact)
WHERE {valid}
WITH a.id AS id, collect(type(r) + ' ' + r.id + ' ' + b.id) AS ties,
     collect(coalesce(r.weight, r.strength, -1.0)) AS weights
RETURN id, reduce(s = '', t IN ties | s + t + ' ') AS ties, weights
""".format(valid=_VALID.format(r="r"))
_ALL_KNOWS = """
MATCH (a:User)-[r:KNOWS]->(b:Contact)
WHERE {valid}
WITH b.id AS id, collect('KNOWS ' + r.id + ' ' + a.id) AS ties,
     collect(coalesce(r.weight, r.strength, -1.0)) AS weights
RETURN id, reduce(s = '', t IN ties | s + t + ' ') AS ties, weights
""".format(valid=_VALID.format(r="r"))
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
    found = {edge.id: edge for edge in map(_unpacked, rows)}
    return tied(member_ids, [found[key] for key in sorted(found)])


def _weight(value: object) -> float | None:
    weight = float(str(value))
    return None if weight == -1.0 else weight


def _unpacked(row: dict[str, object]) -> Edge:
    key, kind, source, target, since, until, manual = str(row["e"]).split(" ")
    return Edge(key, kind, source, target, _weight(row["w"]), manual == "t",
                None if since == "-" else since, None if until == "-" else until)


def _edge(row: dict[str, object]) -> Edge:
    weight = row["weight"]
    return Edge(str(row["id"]), str(row["kind"]), str(row["fromId"]), str(row["toId"]),
                None if weight is None else float(str(weight)), bool(row["manual"]),
                None if row["validFrom"] is None else str(row["validFrom"]),
                None if row["validTo"] is None else str(row["validTo"]))


def tied(member_ids: Sequence[str], edges: Sequence[Edge]) -> list[Edge]:
    """A committee's subgraph out of `edges`: the valid ties touching a member, and the KNOWS
    edges into a member or a person on one of those ties."""
    members = set(member_ids)
    ties = [e for e in edges if e.kind != "KNOWS" and (e.from_id in members
                                                        or e.to_id in members)]
    people = members | {e.from_id for e in ties} | {e.to_id for e in ties}
    return sorted([*ties, *(e for e in edges if e.kind == "KNOWS" and e.to_id in people)],
                  key=lambda e: e.id)


async def all_edges(engine: GraphEngine, as_of: str) -> list[Edge]:
    """Every INFLUENCES, REPORTS_TO and KNOWS edge valid on `as_of`, for full recomputes: what
    scoring reads (id, kind, ends, weight), without validity or the manual flag."""
    found: list[Edge] = []
    for cypher, outgoing in ((_ALL_TIES, True), (_ALL_KNOWS, False)):
        for row in await engine.read(cypher, {"asOf": as_of}):
            here, parts = str(row["id"]), str(row["ties"]).split()
            weights = row["weights"]
            if not isinstance(weights, list) or len(weights) * 3 != len(parts):
                raise ValueError(f"unexpected ties of {here}")
            for n, weight in enumerate(weights):
                kind, key, other = parts[3 * n:3 * n + 3]
                found.append(Edge(key, kind, here if outgoing else other,
                                  other if outgoing else here, _weight(weight), False,
                                  None, None))
    return found


async def neighbours(engine: GraphEngine, contact_ids: Sequence[str]) -> set[str]:
    """The contacts and everyone directly tied to them (any period)."""
    if not contact_ids:
        return set()
    return {row["id"] for row in await engine.read(_NEIGHBOURS, {"ids": list(contact_ids)})}


def _ball_cypher(max_hops: int) -> str:
    """The ties around the target (within max_hops - 1 of it) and the staff user's KNOWS edges
    into that ball; paths are enumerated from these few edges, not by the engine."""
    if not 1 <= max_hops <= 4:
        raise ValueError("max_hops out of range")
    inner, outer = max(int(max_hops) - 2, 0), int(max_hops) - 1
    ball = "MATCH (:Contact {{id: $to}})-[:INFLUENCES|REPORTS_TO*0..{depth}]-(n:Contact)"
    ties = "" if max_hops == 1 else f"""
{ball.format(depth=inner)}
WITH DISTINCT n
MATCH (n)<-[r:INFLUENCES|REPORTS_TO]-(a:Contact)
WHERE {_VALID.format(r="r")}
WITH a, r, n AS b
{_EDGE}
UNION
{ball.format(depth=inner)}
WITH DISTINCT n
MATCH (n)-[r:INFLUENCES|REPORTS_TO]->(b:Contact)
WHERE {_VALID.format(r="r")}
WITH n AS a, r, b
{_EDGE}
UNION"""
    return f"""{ties}
{ball.format(depth=outer)}
WITH DISTINCT n
MATCH (n)<-[r:KNOWS]-(a:User {{id: $from}})
WHERE {_VALID.format(r="r")}
WITH a, r, n AS b
{_EDGE}
"""


async def introduction_ball(engine: GraphEngine, from_id: str, to_id: str, max_hops: int,
                            as_of: str) -> list[Edge]:
    """In one query: the valid ties within reach of a contact and the staff user's KNOWS
    edges into them, enough to enumerate every path of at most `max_hops` edges."""
    rows = await engine.read(_ball_cypher(max_hops),
                             {"from": from_id, "to": to_id, "asOf": as_of})
    found = {row["id"]: _edge(row) for row in rows}
    return [found[key] for key in sorted(found)]
