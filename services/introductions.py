"""Introduction paths: who on our staff can reach a contact, through whom. Ranked by path
strength (the product of the KNOWS strengths and tie weights along it; REPORTS_TO counts 0.5).
A path through a person (or their account) the caller may not see is dropped entirely, so
neither it nor its existence reaches the caller; a hidden target answers like a missing one."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from analytics.influence import REPORTS_TO_WEIGHT
from auth.actor import Actor
from graph import decisions
from graph.decisions import Edge
from graph.engine import GraphEngine
from relational.ledger import Reader
from relational.repositories import contacts as contact_repo
from relational.repositories import relationships as relationship_repo
from services import policy
from services.errors import BadUserInput, NotFound

MAX_HOPS = 4
MAX_FIRST = 10


@dataclass(frozen=True)
class Step:
    id: uuid.UUID
    kind: str  # STAFF or CONTACT
    name: str | None


@dataclass(frozen=True)
class Hop:
    from_id: uuid.UUID
    to_id: uuid.UUID
    kind: str
    strength: float


@dataclass(frozen=True)
class IntroductionPath:
    strength: float
    nodes: tuple[Step, ...]
    edges: tuple[Hop, ...]


def check_limits(max_hops: int | None, first: int | None) -> tuple[int, int]:
    hops = 3 if max_hops is None else max_hops
    if not 1 <= hops <= MAX_HOPS:
        raise BadUserInput(f"`maxHops` must be between 1 and {MAX_HOPS}", field="maxHops")
    wanted = 10 if first is None else first
    if not 1 <= wanted <= MAX_FIRST:
        raise BadUserInput(f"`first` must be between 1 and {MAX_FIRST}", field="first")
    return hops, wanted


def _strength(edge: Edge) -> float:
    return REPORTS_TO_WEIGHT if edge.kind == "REPORTS_TO" else float(edge.weight or 0.0)


def enumerate_paths(origin: str, target: str, edges: list[Edge], max_hops: int,
                    allowed: Callable[[str], bool]) -> list[tuple[float, list[str], list[Edge]]]:
    """Every simple path origin -KNOWS-> c (- tie -)* target of at most `max_hops` edges
    through allowed people only, strongest first (then shortest, then by ids). Walks back
    from the target, so the work is bounded by the ties around it."""
    ties: dict[str, list[tuple[str, Edge]]] = defaultdict(list)
    knows: dict[str, Edge] = {}
    for edge in edges:
        if edge.kind == "KNOWS":
            if edge.from_id == origin:
                knows[edge.to_id] = edge
            continue
        ties[edge.from_id].append((edge.to_id, edge))
        ties[edge.to_id].append((edge.from_id, edge))
    found: list[tuple[float, list[str], list[Edge]]] = []

    def walk(node: str, back: list[str], used: list[Edge], product: float) -> None:
        if node in knows:
            first = knows[node]
            total = product * _strength(first)
            if total > 0:
                found.append((total, [origin, *reversed(back)], [first, *reversed(used)]))
        if len(used) + 1 >= max_hops:
            return
        for nxt, edge in ties.get(node, ()):
            if nxt not in back and allowed(nxt) and _strength(edge) > 0:
                walk(nxt, [*back, nxt], [*used, edge], product * _strength(edge))

    if allowed(target):
        walk(target, [target], [], 1.0)
    found.sort(key=lambda item: (-item[0], len(item[1]), item[1]))
    return found


async def paths(read: Reader, graph: GraphEngine, actor: Actor, to: uuid.UUID,
                start: uuid.UUID | None, max_hops: int | None, first: int | None,
                as_of: date | None, today: date) -> list[IntroductionPath]:
    hops, wanted = check_limits(max_hops, first)
    origin = start or actor.user_id
    if origin is None:
        raise BadUserInput("an API token knows no one: give `from`", field="from")
    seen = policy.visibility(actor)
    async with read() as session:
        if to not in await contact_repo.get_many(session, [to], seen):
            raise NotFound("no contact with this id", field="to")
        staff = await relationship_repo.active_users(session, [origin])
        if origin not in staff:
            raise NotFound("no active staff user with this id", field="from")
        edges = await decisions.introduction_ball(
            graph, str(origin), str(to), hops, (as_of or today).isoformat())
        # Every path first, then one scoped read of the people on them (not of everyone in
        # the ball): a path keeps only if the caller sees each of its people — the same
        # paths, in the same order, as walking through visible people only.
        every = enumerate_paths(str(origin), str(to), edges, hops, lambda _: True)
        people = {uuid.UUID(node) for _, nodes, _ in every for node in nodes[1:]}
        visible = await contact_repo.get_many(session, sorted(people), seen)
    shown = {str(key) for key in visible}
    kept = [path for path in every if all(node in shown for node in path[1][1:])]
    result: list[IntroductionPath] = []
    for strength, nodes, walked in kept[:wanted]:
        ids = [uuid.UUID(node) for node in nodes]
        steps = (Step(ids[0], "STAFF", staff[origin]),
                 *(Step(node, "CONTACT", visible[node].name) for node in ids[1:]))
        hops_of = tuple(Hop(ids[n], ids[n + 1], walked[n].kind, round(_strength(walked[n]), 4))
                        for n in range(len(walked)))
        result.append(IntroductionPath(round(strength, 6), steps, hops_of))
    return result
