"""`crm graph rebuild` and `crm graph verify`: the graph recreated from, and compared with, the
ledger."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from graph import projector as graph_projector
from graph import snapshot
from graph.engine import GraphEngine
from graph.projector import GraphEvent
from relational.ledger import Ledger, Reader
from relational.models import Account, AccountEdge, Base, Contact, Relationship
from relational.repositories import outbox
from relational.repositories.groups import OWNS
from services import accounts, contacts, groups, relationship_rows

_BATCH = 2000
M = TypeVar("M", bound=Base)


def _contact_row(contact: Contact) -> dict[str, Any]:
    return {**contacts.graph_row(contact), "worksAt": [str(contact.account_id)]}


@dataclass
class Report:
    counts: dict[str, int] = field(default_factory=dict)
    differences: list[str] = field(default_factory=list)
    pending_events: int = 0


Progress = Callable[[int, int], None]  # (rows done, rows in all)


def _ignore(done: int, total: int) -> None:
    return None


async def rebuild(ledger: Ledger, graph: GraphEngine, *,
                  progress: Progress = _ignore) -> dict[str, int]:
    """Recreate the graph from the ledger in one REPEATABLE READ snapshot; events committed after
    the snapshot stay pending and the projector applies them afterwards.

    Cancelled (Ctrl-C) midway, the snapshot's transaction rolls back: no event is marked
    projected, so the graph is incomplete until the next rebuild, which starts over (every
    write is a MERGE by our ids)."""
    async with outbox.rebuild_snapshot(ledger.sessionmaker) as session:
        total = sum((await outbox.table_counts(session)).values())
        await graph.clear()
        await graph.ensure_schema()
        done = [0]

        def step(rows: int) -> None:
            done[0] += rows
            progress(done[0], total)

        progress(0, total)
        counts = {
            "accounts": await _project_all(
                graph, session, Account, "account.created", accounts.graph_row, step),
            "contacts": await _project_all(
                graph, session, Contact, "contact.created", contacts.graph_row, step),
            "ownerships": await _project_all(
                graph, session, AccountEdge, "ownership.linked", groups.graph_row, step),
            "relationships": await _project_all(
                graph, session, Relationship, "relationship.created",
                relationship_rows.graph_row, step),
        }
        progress(total, total)
    return counts


async def _project_all(graph: GraphEngine, session: AsyncSession, model: type[M], topic: str,
                       to_row: Callable[[M], dict[str, Any]],
                       step: Callable[[int], None]) -> int:
    done = 0
    async for batch in outbox.stream(session, model, _BATCH):
        rows = [to_row(item) for item in batch
                if not isinstance(item, AccountEdge) or item.kind == OWNS]
        await graph_projector.apply(graph, [GraphEvent(topic, row) for row in rows])
        done += len(rows)
        step(len(batch))
    return done


def _normal(row: dict[str, Any]) -> dict[str, Any]:
    normal = {key: value for key, value in row.items() if value is not None}
    if "worksAt" in normal:
        normal["worksAt"] = sorted(normal["worksAt"])
    return normal


def _compare(kind: str, ledger: dict[str, dict[str, Any]], graph: dict[str, dict[str, Any]],
             report: Report) -> None:
    report.counts[kind] = len(ledger)
    for key in sorted(ledger.keys() - graph.keys()):
        report.differences.append(f"{kind} {key}: in the ledger, missing in the graph")
    for key in sorted(graph.keys() - ledger.keys()):
        report.differences.append(f"{kind} {key}: in the graph, not in the ledger")
    for key in sorted(ledger.keys() & graph.keys()):
        want, have = _normal(ledger[key]), _normal(graph[key])
        if want != have:
            fields = sorted(name for name in want.keys() | have.keys()
                            if want.get(name) != have.get(name))
            shown = ", ".join(f"{name}: ledger={want.get(name)!r} graph={have.get(name)!r}"
                              for name in fields)
            report.differences.append(f"{kind} {key}: {shown}")


async def _ledger(read: Reader, model: type[M], to_row: Callable[[M], dict[str, Any]],
                  key: Callable[[dict[str, Any]], str]) -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    async with read() as session:
        async for batch in outbox.stream(session, model, _BATCH):
            for item in batch:
                if isinstance(item, AccountEdge) and item.kind != OWNS:
                    continue
                row = to_row(item)
                rows[key(row)] = row
    return rows


async def _graph(rows: AsyncIterator[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    async for row in rows:
        found[row.pop("id")] = row
    return found


def _relationship(row: dict[str, Any]) -> dict[str, Any]:
    """A ledger edge as `snapshot.relationships` reads it back (flat, no id)."""
    return {"kind": row["kind"], "fromId": row["fromId"], "toId": row["toId"],
            **{key: value for key, value in row["props"].items() if key != "id"}}


def _graph_relationship(row: dict[str, Any]) -> dict[str, Any]:
    if row.get("products") is not None:
        row["products"] = list(row["products"])
    return row


def _pair(row: dict[str, Any]) -> str:
    return f"{row['parentId']}/{row['childId']}"


async def verify(read: Reader, graph: GraphEngine) -> Report:
    report = Report()
    ledger_accounts = await _ledger(read, Account, accounts.graph_row, lambda row: row["id"])
    ledger_contacts = await _ledger(read, Contact, _contact_row, lambda row: row["id"])
    ledger_edges = await _ledger(read, AccountEdge, groups.graph_row, _pair)
    for rows in (ledger_accounts, ledger_contacts):
        for row in rows.values():
            row.pop("id")
    _compare("account", ledger_accounts, await _graph(snapshot.accounts(graph)), report)
    _compare("contact", ledger_contacts, await _graph(snapshot.contacts(graph)), report)
    _compare("ownership", ledger_edges, await _graph(snapshot.ownerships(graph)), report)
    ledger_ties = await _ledger(read, Relationship, relationship_rows.graph_row,
                                lambda row: row["id"])
    graph_ties = await _graph(snapshot.relationships(graph))
    _compare("relationship", {key: _relationship(row) for key, row in ledger_ties.items()},
             {key: _graph_relationship(row) for key, row in graph_ties.items()}, report)
    async with read() as session:
        report.pending_events = await outbox.pending_count(session)
    return report
