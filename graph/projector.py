"""Applies outbox events to the graph. Every statement MERGEs by our own ids, so replaying an
event (after a crash between graph write and outbox mark) changes nothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from graph.engine import GraphEngine
from graph.rows import RELATIONSHIP_ENDS

UPSERT_ACCOUNTS = """
UNWIND $rows AS row
MERGE (a:Account {id: row.id})
SET a += row
"""
# The row of an account whose disruption ended has no disruption: remove it from the node.
CLEAR_DISRUPTIONS = """
UNWIND $rows AS row
MERGE (a:Account {id: row.id})
SET a += row, a.disruptedReason = null, a.disruptedSince = null
"""
UPSERT_CONTACTS = """
UNWIND $rows AS row
MERGE (c:Contact {id: row.id})
SET c += row
WITH c, row
MERGE (a:Account {id: row.accountId})
MERGE (c)-[:WORKS_AT]->(a)
"""
DELETE_CONTACTS = """
UNWIND $rows AS row
MATCH (c:Contact {id: row.id})
DETACH DELETE c
"""
UPSERT_OWNERSHIPS = """
UNWIND $rows AS row
MERGE (p:Account {id: row.parentId})
MERGE (c:Account {id: row.childId})
MERGE (p)-[r:OWNS]->(c)
SET r.share = row.share
"""
DELETE_OWNERSHIPS = """
UNWIND $rows AS row
MATCH (:Account {id: row.parentId})-[r:OWNS]->(:Account {id: row.childId})
DELETE r
"""



def _upsert_relationship(kind: str, source: str, target: str) -> str:
    """MERGE by our relationship id: an update or an end (validTo set) rewrites the same edge."""
    return f"""
UNWIND $rows AS row
MERGE (a:{source} {{id: row.fromId}})
MERGE (b:{target} {{id: row.toId}})
MERGE (a)-[r:{kind} {{id: row.id}}]->(b)
SET r += row.props
"""


RELATIONSHIP_TOPICS = frozenset(
    {"relationship.created", "relationship.updated", "relationship.ended"})
RELATIONSHIP_UPSERTS: dict[str, str] = {
    kind: _upsert_relationship(kind, source, target)
    for kind, (source, target) in RELATIONSHIP_ENDS.items()}
DELETE_RELATIONSHIPS = """
UNWIND $rows AS row
MATCH ()-[r {id: row.id}]->()
DELETE r
"""

STATEMENTS: dict[str, str] = {
    "relationship.deleted": DELETE_RELATIONSHIPS,
    "account.created": UPSERT_ACCOUNTS,
    "account.updated": UPSERT_ACCOUNTS,
    "account.disrupted": UPSERT_ACCOUNTS,
    "account.disruptionCleared": CLEAR_DISRUPTIONS,
    "contact.created": UPSERT_CONTACTS,
    "contact.updated": UPSERT_CONTACTS,
    "contact.deleted": DELETE_CONTACTS,
    "ownership.linked": UPSERT_OWNERSHIPS,
    "ownership.unlinked": DELETE_OWNERSHIPS,
}


@dataclass(frozen=True)
class GraphEvent:
    """The part of an outbox event the graph needs: its topic and its `graph` row."""

    topic: str
    row: dict[str, Any]


def statement_of(event: GraphEvent) -> str | None:
    """The Cypher that applies `event`; None for events the graph does not hold."""
    if event.topic in RELATIONSHIP_TOPICS:
        return RELATIONSHIP_UPSERTS.get(str(event.row.get("kind")))
    return STATEMENTS.get(event.topic)


async def apply(engine: GraphEngine, events: Sequence[GraphEvent]) -> None:
    """Apply events in order; consecutive events of one kind go in one UNWIND statement."""
    for statement, run in groupby(events, key=statement_of):
        if statement is None:
            continue
        await engine.write(statement, {"rows": [event.row for event in run]})
