"""Decision maps: a committee, the ties around it and who of our staff knows whom, on a date,
with influence scores, explanations, brokers, gaps and coverage — drawn from one graph query,
the stored scores (or, for a past date, scores computed from that day's subgraph) and a fixed
number of ledger reads, whatever the size of the committee. People the reader may not see are
restricted stubs: only their id (and their committee role, which belongs to the account)."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from analytics.influence import Contribution
from auth.actor import Actor
from auth.field_cipher import FieldCipher
from graph.decisions import Edge
from graph.engine import GraphEngine
from relational.ledger import Reader
from relational.models import CommitteeMember
from relational.repositories import committees as repo
from relational.repositories import interactions as interaction_repo
from relational.repositories import relationships as relationship_repo
from relational.repositories.committees import Key
from services import contacts, influence, policy
from services.vocabulary import KEY_ROLES

GAP_REASON = "no one on our staff knows this decision maker or anyone tied to them"
MAX_BROKERS = 10


@dataclass(frozen=True)
class MapNode:
    id: uuid.UUID
    kind: str  # CONTACT, STAFF or RESTRICTED
    name: str | None = None
    title: str | None = None
    account_id: uuid.UUID | None = None
    influence: float | None = None
    roles: tuple[str, ...] = ()
    stance: str | None = None
    last_contact_at: date | None = None
    explanation: tuple[Contribution, ...] = ()
    member_id: uuid.UUID | None = None

    @property
    def restricted(self) -> bool:
        return self.kind == "RESTRICTED"


@dataclass(frozen=True)
class Coverage:
    completeness: float
    filled: tuple[str, ...]
    missing: tuple[str, ...]
    unreachable: tuple[uuid.UUID, ...]


@dataclass(frozen=True)
class DecisionMap:
    as_of: date
    computed_at: datetime | None
    nodes: tuple[MapNode, ...]
    edges: tuple[Edge, ...]
    brokers: tuple[tuple[uuid.UUID, float], ...]
    gaps: tuple[uuid.UUID, ...]
    coverage: Coverage


@dataclass(frozen=True)
class _Scored:
    influence: float
    betweenness: float
    explanation: tuple[Contribution, ...]


def _contribution(item: dict[str, object]) -> Contribution:
    path = item["path"]
    return Contribution(str(item["fromId"]), str(item["toId"]), str(item["kind"]),
                        float(str(item["weight"])), float(str(item["share"])),
                        tuple(str(p) for p in path) if isinstance(path, list) else ())


async def _scores(read: Reader, committee: Key, on: date, today: date,
                  snap: influence.Snapshot) -> tuple[dict[str, _Scored], datetime | None]:
    """Stored scores for today's map; a past day's are computed from that day's subgraph."""
    if on != today:
        live = await influence.compute(snap)
        return {key: _Scored(s.influence, s.betweenness, s.explanation)
                for key, s in live.items()}, None
    async with read() as session:
        stored = await repo.scores(session, committee)
    scored = {str(key): _Scored(row.influence, row.betweenness,
                                tuple(_contribution(c) for c in row.explanation))
              for key, row in stored.items()}
    return scored, max((row.computed_at for row in stored.values()), default=None)


def _reachable(staff: set[str], edges: list[Edge], hidden: set[str]) -> set[str]:
    """Everyone our staff reach along ties (either direction), never through a hidden
    person; a hidden person may end a path but not carry it on."""
    links: dict[str, set[str]] = defaultdict(set)
    for edge in edges:
        links[edge.from_id].add(edge.to_id)
        links[edge.to_id].add(edge.from_id)
    seen, queue = set(staff), deque(sorted(staff))
    while queue:
        node = queue.popleft()
        if node in hidden:
            continue
        for nxt in sorted(links[node] - seen):
            seen.add(nxt)
            queue.append(nxt)
    return seen


def _coverage(members: list[CommitteeMember], reached: set[str]) -> Coverage:
    held = {role for member in members for role in member.roles}
    filled = tuple(role for role in KEY_ROLES if role in held)
    missing = tuple(role for role in KEY_ROLES if role not in held)
    unreachable = tuple(m.contact_id for m in members
                        if "DECISION_MAKER" in m.roles and str(m.contact_id) not in reached)
    return Coverage(round(100.0 * len(filled) / len(KEY_ROLES), 1), filled, missing,
                    unreachable)


async def decision_map(read: Reader, graph: GraphEngine, cipher: FieldCipher, actor: Actor,
                       account_id: uuid.UUID, as_of: date | None, today: date,
                       opportunity_id: uuid.UUID | None = None) -> DecisionMap:
    """The map of the account's own committee, or of one of its opportunities' (the caller
    has already loaded the opportunity through its visibility)."""
    on = as_of or today
    committee = Key(account_id, opportunity_id)
    snap = await influence.snapshot(read, graph, committee, on)
    members = {str(m.contact_id): m for m in snap.members}
    users = sorted({e.from_id for e in snap.edges if e.kind == "KNOWS"})
    people = sorted(set(members) | {e.from_id for e in snap.edges if e.kind != "KNOWS"}
                    | {e.to_id for e in snap.edges})

    async def staff_and_contacts() -> tuple[dict[uuid.UUID, str], dict[uuid.UUID, datetime]]:
        async with read() as session:
            names = await relationship_repo.active_users(session, [uuid.UUID(u) for u in users])
            last = await interaction_repo.last_contact(
                session, [m.contact_id for m in snap.members], policy.visibility(actor),
                until=datetime.combine(on + timedelta(days=1), time(), UTC))
        return names, last

    # Independent reads, each in its own session, side by side.
    visible, (names, last), (scored, computed_at) = await asyncio.gather(
        contacts.load_many(read, cipher, actor, [uuid.UUID(p) for p in people]),
        staff_and_contacts(), _scores(read, committee, on, today, snap))
    hidden = {p for p in people if uuid.UUID(p) not in visible}
    nodes: list[MapNode] = []
    for person in [*members, *sorted(set(people) - set(members))]:
        key = uuid.UUID(person)
        member = members.get(person)
        score = scored.get(person)
        roles = tuple(member.roles) if member else ()
        stance = member.stance if member else None
        member_id = member.id if member else None
        record = visible.get(key)
        if record is None:
            nodes.append(MapNode(key, "RESTRICTED", roles=roles, stance=stance,
                                 member_id=member_id))
            continue
        at = last.get(key)
        nodes.append(MapNode(
            key, "CONTACT", name=record.name, title=record.title, account_id=record.account_id,
            influence=None if score is None else score.influence,
            last_contact_at=None if at is None else at.astimezone(UTC).date(),
            explanation=() if score is None else score.explanation, roles=roles,
            stance=stance, member_id=member_id))
    nodes += [MapNode(uuid.UUID(u), "STAFF", name=names.get(uuid.UUID(u))) for u in users]
    reached = _reachable(set(users), snap.edges, hidden)
    coverage = _coverage(snap.members, reached)
    brokers = sorted(((uuid.UUID(p), s.betweenness) for p, s in scored.items()
                      if s.betweenness > 0 and p in people and p not in hidden),
                     key=lambda item: (-item[1], str(item[0])))[:MAX_BROKERS]
    return DecisionMap(on, computed_at, tuple(nodes), tuple(snap.edges), tuple(brokers),
                       coverage.unreachable, coverage)
