"""Influence scores of buying committees: computed from the graph (analytics/influence.py) off
the event loop, stored in the ledger with `computed_at`, served from storage. Recomputed when
a committee's subgraph changes: `InfluenceFollower` follows the projector, so the scores of
every committee touched by a batch of outbox events are recomputed right after the graph
applied it (and again on a retry)."""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

import anyio

from analytics import influence
from graph import decisions
from graph.decisions import Edge
from graph.engine import GraphEngine, GraphUnavailable
from graph.projector import GraphEvent
from relational.ledger import Ledger, Reader
from relational.models import CommitteeMember
from relational.repositories import committees as repo
from relational.repositories.committees import Key
from services import clock

log = logging.getLogger(__name__)
TIE_TOPICS = frozenset({"relationship.created", "relationship.updated", "relationship.ended",
                        "relationship.deleted"})


@dataclass(frozen=True)
class Snapshot:
    """A committee on one day: its members and the subgraph around them."""

    members: list[CommitteeMember]
    edges: list[Edge]


def _problem(snapshot: Snapshot) -> influence.Problem:
    members = [influence.Member(str(m.contact_id), tuple(m.roles)) for m in snapshot.members]
    ties = [influence.Tie(e.id, e.kind, e.from_id, e.to_id, e.weight) for e in snapshot.edges]
    return members, ties


def analysed(snapshot: Snapshot) -> dict[str, influence.Score]:
    return influence.score(*_problem(snapshot))


async def compute(snapshot: Snapshot) -> dict[str, influence.Score]:
    """The scores, computed in a worker thread (CPU-bound, never on the event loop)."""
    return await anyio.to_thread.run_sync(analysed, snapshot)


async def snapshot(read: Reader, graph: GraphEngine, committee: Key, on: date) -> Snapshot:
    async with read() as session:
        members = (await repo.members(session, [committee], on))[committee]
    edges = await decisions.committee_subgraph(
        graph, [str(m.contact_id) for m in members], on.isoformat())
    return Snapshot(members, edges)


def _rows(scores: dict[str, influence.Score]) -> list[dict[str, object]]:
    return [{"contact_id": uuid.UUID(person), "influence": value.influence,
             "betweenness": value.betweenness,
             "explanation": [{"fromId": c.from_id, "toId": c.to_id, "kind": c.kind,
                              "weight": c.weight, "share": c.share, "path": list(c.path)}
                             for c in value.explanation]}
            for person, value in sorted(scores.items())]


async def recompute(ledger: Ledger, graph: GraphEngine, committee: Key, today: date) -> int:
    """Recompute and store one committee's scores; returns how many people were scored."""
    scores = await compute(await snapshot(ledger.read, graph, committee, today))
    async with ledger.sessionmaker() as session, session.begin():
        await repo.replace_scores(session, committee, _rows(scores), datetime.now(UTC))
    return len(scores)


def _analysed_all(snapshots: dict[Key, Snapshot]) -> dict[Key, dict[str, influence.Score]]:
    found = influence.score_many([_problem(snap) for snap in snapshots.values()])
    return dict(zip(snapshots, found, strict=True))


Progress = Callable[[int, int], None]  # (committees scored, committees in all)
# Committees per trip to the worker thread: progress moves between batches.
_BATCH = 500


def _ignore(done: int, total: int) -> None:
    return None


def _snapshots(committees: dict[Key, list[CommitteeMember]],
               edges: list[Edge]) -> dict[Key, Snapshot]:
    """Each committee's subgraph out of every edge, as `decisions.tied` draws it (the ties
    touching a member, the KNOWS edges into a person on them), from two indexes by person
    (edges in no particular order: scoring orders them by id)."""
    ties: dict[str, list[Edge]] = defaultdict(list)
    knows: dict[str, list[Edge]] = defaultdict(list)
    for edge in edges:
        if edge.kind == "KNOWS":
            knows[edge.to_id].append(edge)
        else:
            ties[edge.from_id].append(edge)
            ties[edge.to_id].append(edge)
    snapshots = {}
    for committee, members in committees.items():
        ids = {str(m.contact_id) for m in members}
        near = {e.id: e for person in ids for e in ties.get(person, ())}
        people = ids | {e.from_id for e in near.values()} | {e.to_id for e in near.values()}
        snapshots[committee] = Snapshot(members, [*near.values(), *(
            e for person in people for e in knows.get(person, ()))])
    return snapshots


async def recompute_all(ledger: Ledger, graph: GraphEngine, today: date, *,
                        progress: Progress = _ignore) -> int:
    """Recompute every committee from one read of the ledger and of the graph (after `crm
    graph rebuild`, which emits no events for the follower, or a change of the formula);
    returns the number of committees. Every stored score is replaced in one transaction:
    cancelled midway, the previous scores stay."""
    async with ledger.read() as session:
        committees = await repo.all_members(session, today)
    snapshots = _snapshots(committees, await decisions.all_edges(graph, today.isoformat()))
    pending = list(snapshots.items())
    scores: dict[Key, dict[str, influence.Score]] = {}
    progress(0, len(pending))
    for start in range(0, len(pending), _BATCH):
        scores |= await anyio.to_thread.run_sync(
            _analysed_all, dict(pending[start:start + _BATCH]))
        progress(len(scores), len(pending))
    now = datetime.now(UTC)
    rows = ({**row, "account_id": committee.account_id,
             "opportunity_id": committee.opportunity_id, "computed_at": now}
            for committee, found in scores.items() for row in _rows(found))
    async with ledger.sessionmaker() as session, session.begin():
        await repo.replace_all_scores(session, rows)
    return len(committees)


async def affected(read: Reader, graph: GraphEngine,
                   events: Sequence[GraphEvent]) -> set[Key]:
    """Committees whose subgraph the events change: committee changes name their account and
    opportunity; a tie or KNOWS edge touches the committees its people, or people tied to
    them, sit on."""
    touched: set[Key] = set()
    people: set[str] = set()
    for event in events:
        if event.topic == "committee.changed":
            opportunity = event.row.get("opportunity_id")
            touched.add(Key(uuid.UUID(str(event.row["account_id"])),
                             None if opportunity is None else uuid.UUID(str(opportunity))))
        elif event.topic in TIE_TOPICS and event.row.get("kind") != "SUPPLIES":
            people.update(str(event.row[key]) for key in ("fromId", "toId")
                          if key in event.row)
    if people:
        near = await decisions.neighbours(graph, sorted(people))
        ids = [uuid.UUID(item) for item in near | people if _is_uuid(item)]
        async with read() as session:
            touched |= await repo.committees_with_members(session, ids)
    return touched


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


class InfluenceFollower:
    """Follows the projector: after each applied batch, recomputes the touched committees. A
    failure of the graph propagates (the projector retries the batch); any other failure is
    logged and leaves the previous scores in place."""

    def __init__(self, ledger: Ledger, graph: GraphEngine,
                 today: Callable[[], date] = clock.today) -> None:
        self._ledger, self._graph, self._today = ledger, graph, today

    async def follow(self, events: Sequence[GraphEvent]) -> None:
        try:
            touched = await affected(self._ledger.read, self._graph, events)
            for committee in sorted(touched, key=Key.sort_key):
                await recompute(self._ledger, self._graph, committee, self._today())
        except GraphUnavailable:
            raise
        except Exception:
            log.exception("influence recompute failed; the stored scores stay as they were")
