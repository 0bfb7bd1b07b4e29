"""Applies outbox events to the graph. Every statement MERGEs by our own ids, so replaying an
event (after a crash between graph write and outbox mark) changes nothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from graph.engine import GraphEngine

UPSERT_ACCOUNTS = """
UNWIND $rows AS row
MERGE (a:Account {id: row.id})
SET a += row
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

STATEMENTS: dict[str, str] = {
    "account.created": UPSERT_ACCOUNTS,
    "account.updated": UPSERT_ACCOUNTS,
    "account.disrupted": UPSERT_ACCOUNTS,
    "account.disruptionCleared": UPSERT_ACCOUNTS,
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


async def apply(engine: GraphEngine, events: Sequence[GraphEvent]) -> None:
    """Apply events in order; consecutive events of one kind go in one UNWIND statement."""
    for statement, run in groupby(events, key=lambda event: STATEMENTS.get(event.topic)):
        if statement is None:
            continue
        await engine.write(statement, {"rows": [event.row for event in run]})
