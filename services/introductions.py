"""Introduction paths: who on our staff can reach a contact, through whom. Ranked by path
strength (the product of the KNOWS strengths and tie weights along it; REPORTS_TO counts 0.5).
A path through a person (or their account) the caller may not see is dropped entirely, so
neither it nor its existence reaches the caller; a hidden target answers like a missing one."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from analytics.influence import REPORTS_TO_WEIGHT
from auth.actor import Actor
from graph import decisions
from graph.engine import GraphEngine
from relational.ledger import Reader
from relational.repositories import contacts as contact_repo
from relational.repositories import relationships as relationship_repo
from services import policy
from services.errors import BadUserInput, NotFound

MAX_HOPS = 4
MAX_FIRST = 10
# Candidates read from the graph before hidden people are filtered out: bounded work.
CANDIDATES = 200


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
    found = await decisions.introduction_paths(
        graph, str(origin), str(to), hops, (as_of or today).isoformat(), CANDIDATES,
        REPORTS_TO_WEIGHT)
    simple = [path for path in found if len(set(path.nodes)) == len(path.nodes)]
    people = {uuid.UUID(node) for path in simple for node in path.nodes[1:]}
    async with read() as session:
        visible = await contact_repo.get_many(session, sorted(people), seen)
    result: list[IntroductionPath] = []
    for path in simple:
        ids = [uuid.UUID(node) for node in path.nodes]
        if any(node not in visible for node in ids[1:]):
            continue
        steps = (Step(ids[0], "STAFF", staff[origin]),
                 *(Step(node, "CONTACT", visible[node].name) for node in ids[1:]))
        hops_of = tuple(Hop(ids[n], ids[n + 1], path.kinds[n], round(path.strengths[n], 4))
                        for n in range(len(path.kinds)))
        result.append(IntroductionPath(round(path.strength, 6), steps, hops_of))
        if len(result) == wanted:
            break
    return result
