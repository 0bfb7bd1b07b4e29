"""Influence of the people on a buying committee, from the structure of its subgraph. Pure:
a snapshot of members and ties in, scores out; deterministic (no randomness, ties broken by id).

The formula
-----------
Ties: `INFLUENCES u → v` with weight w ∈ [0, 1] means u's opinion sways v; `REPORTS_TO u → v`
(u reports to v) counts as influence of the subordinate on the manager with weight
REPORTS_TO_WEIGHT = 0.5. Parallel ties add up.

1. Reach (personalized PageRank). A walker starts at a decision maker and, at each step, with
   probability ALPHA = 0.85 moves *against* the direction of influence — from v to one of the
   people u who influence v, with probability w(u → v) / Σₓ w(x → v) — or restarts at a decision
   maker (uniformly; every member if the committee has none). A person with no influencer sends
   the walker back to the restart distribution. The stationary probability p(u) is how strongly
   u's opinion reaches the decision makers, directly or through others; it equals networkx's
   `pagerank(reversed graph, alpha=0.85, personalization=decision makers)`.
2. Role prior: the strongest of the member's roles (ROLE_PRIOR below; 0.1 for people who are
   not on the committee).
3. influence(u) = BLEND · p(u) / max p + (1 − BLEND) · prior(u), BLEND = 0.7, in [0, 1], rounded
   to four decimals.

Explanation: p(u) = (1 − ALPHA)·restart(u) + Σ_v ALPHA · p(v) · w(u → v) / Σₓ w(x → v) (plus
the dangling mass); each term of the sum is the contribution of the tie u → v, and its share is
that term over p(u). The top MAX_EXPLAINED ties are listed, each with the strongest path (largest
product of weights) from u through v to a decision maker.

Brokers: betweenness centrality (normalised, as networkx's) on the undirected graph of every
tie, staff KNOWS ties included: who sits on the paths between everyone else.

Computation: committees are scored in batches (`score_many`): the walk of every committee in
the batch is one sparse matrix (committees never share a row), iterated until each committee
meets its own tolerance (a committee that has converged stays as it was); the strongest paths
come from one multi-source Dijkstra over the batch; betweenness prunes the trees hanging off
each subgraph before Brandes' algorithm (analytics/betweenness.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.sparse.csgraph import dijkstra

from analytics.betweenness import betweenness, betweenness_many

ALPHA = 0.85
BLEND = 0.7
REPORTS_TO_WEIGHT = 0.5
MAX_EXPLAINED = 3
TOLERANCE = 1.0e-10
MAX_ITERATIONS = 1000
ROLE_PRIOR = {
    "DECISION_MAKER": 1.0, "CHAMPION": 0.7, "TECHNICAL_EVALUATOR": 0.6,
    "BUSINESS_EVALUATOR": 0.6, "PROCUREMENT": 0.5, "INFLUENCER": 0.5, "GATEKEEPER": 0.4,
    "USER": 0.2,
}
OUTSIDER_PRIOR = 0.1


@dataclass(frozen=True)
class Member:
    id: str
    roles: tuple[str, ...]


@dataclass(frozen=True)
class Tie:
    """An edge of the committee's subgraph, in the direction the graph holds it."""

    id: str
    kind: str  # INFLUENCES, REPORTS_TO or KNOWS
    source: str
    target: str
    weight: float | None = None

    @property
    def influence(self) -> float:
        if self.kind == "REPORTS_TO":
            return REPORTS_TO_WEIGHT
        return max(0.0, float(self.weight or 0.0))


@dataclass(frozen=True)
class Contribution:
    from_id: str
    to_id: str
    kind: str
    weight: float
    share: float
    path: tuple[str, ...]


@dataclass(frozen=True)
class Score:
    influence: float
    betweenness: float
    explanation: tuple[Contribution, ...]


Problem = tuple[Sequence[Member], Sequence[Tie]]
Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


def _people(members: Sequence[Member], ties: Sequence[Tie]) -> list[str]:
    found = {member.id for member in members}
    for tie in ties:
        if tie.kind != "KNOWS":
            found.update((tie.source, tie.target))
    return sorted(found)


class _Batch:
    """Committees side by side: person k of committee c is row offset[c] + k (its people in
    id order); `src`, `dst`, `weight` are the swaying ties (INFLUENCES, REPORTS_TO, weight >
    0) in rows, in tie id order per committee, `swaying[i]` the Tie itself."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.members = [list(members) for members, _ in problems]
        self.ties = [sorted(ties, key=lambda tie: tie.id) for _, ties in problems]
        self.people = [_people(m, t) for m, t in zip(self.members, self.ties, strict=True)]
        sizes = np.array([len(people) for people in self.people], dtype=np.int64)
        self.sizes = sizes
        self.offset = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
        self.count = int(self.offset[-1])
        self.cid = np.repeat(np.arange(len(problems)), sizes)
        self.restart = np.zeros(self.count)
        self.deciders: list[int] = []
        src: list[int] = []
        dst: list[int] = []
        weight: list[float] = []
        self.swaying: list[Tie] = []
        for c, (members, ties) in enumerate(zip(self.members, self.ties, strict=True)):
            base = int(self.offset[c])
            index = {person: base + k for k, person in enumerate(self.people[c])}
            deciders = sorted(m.id for m in members if "DECISION_MAKER" in m.roles)
            self.deciders += sorted({index[d] for d in deciders})
            for person in deciders or sorted(m.id for m in members):
                self.restart[index[person]] = 1.0 / len(deciders or members)
            for tie in ties:
                if tie.kind != "KNOWS" and tie.influence > 0:
                    src.append(index[tie.source])
                    dst.append(index[tie.target])
                    weight.append(tie.influence)
                    self.swaying.append(tie)
        self.src = np.array(src, dtype=np.int64)
        self.dst = np.array(dst, dtype=np.int64)
        self.weight = np.array(weight, dtype=np.float64)
        self.totals = np.bincount(self.dst, weights=self.weight, minlength=self.count)


def _reach(batch: _Batch) -> Floats:
    """Step 1 for every committee of the batch at once (power iteration, each committee
    stopping at its own tolerance)."""
    count, cid, restart = batch.count, batch.cid, batch.restart
    committees = len(batch.sizes)
    walk = sparse.csr_matrix(
        (batch.weight / batch.totals[batch.dst], (batch.src, batch.dst)), shape=(count, count))
    dangling = batch.totals == 0
    rank = restart.copy()
    active = batch.sizes > 0
    for _ in range(MAX_ITERATIONS):
        if not active.any():
            break
        lost = np.bincount(cid, weights=np.where(dangling, rank, 0.0), minlength=committees)
        nxt = (1 - ALPHA) * restart + ALPHA * lost[cid] * restart + ALPHA * (walk @ rank)
        error = np.bincount(cid, weights=np.abs(nxt - rank), minlength=committees)
        rank = np.where(active[cid], nxt, rank)
        active &= ~(error < batch.sizes * TOLERANCE)
    return rank


def _predecessors(batch: _Batch) -> Ints:
    """For each person, the next person on the strongest path (largest product of weights)
    to a decision maker along the direction of influence; -1 at a decision maker, -2 where
    there is none."""
    if not batch.deciders:
        return np.full(batch.count, -2, dtype=np.int64)
    cost = -np.log(np.minimum(1.0, batch.weight))
    key = batch.dst * max(batch.count, 1) + batch.src
    order = np.lexsort((cost, key))
    first = order[np.concatenate(([True], key[order][1:] != key[order][:-1]))] \
        if len(order) else order
    against = sparse.csr_matrix((cost[first], (batch.dst[first], batch.src[first])),
                                shape=(batch.count, batch.count))
    distance, before, _ = dijkstra(against, indices=batch.deciders, min_only=True,
                                   return_predecessors=True)
    found = np.where(before < 0, -1, before).astype(np.int64)
    return np.where(np.isinf(distance), -2, found)


def _path(row: int, before: Ints, people: list[str], base: int) -> tuple[str, ...] | None:
    if before[row] == -2:
        return None
    path = [people[row - base]]
    while before[row] >= 0:
        row = int(before[row])
        path.append(people[row - base])
    return tuple(path)


def _explanations(batch: _Batch, rank: Floats,
                  before: Ints) -> dict[int, tuple[Contribution, ...]]:
    """Per person row, the top MAX_EXPLAINED contributions of its own ties (by share, then
    the person swayed, then kind)."""
    if not batch.swaying:
        return {}
    part = ALPHA * rank[batch.dst] * batch.weight / batch.totals[batch.dst]
    with np.errstate(divide="ignore", invalid="ignore"):
        raw = part / rank[batch.src]
    share = np.array([round(value, 4) for value in raw.tolist()])
    kind = np.array([tie.kind != "INFLUENCES" for tie in batch.swaying], dtype=np.int64)
    order = np.lexsort((kind, batch.dst, -share, batch.src))
    ranked = batch.src[order]
    place = np.arange(len(order))
    first = np.maximum.accumulate(np.where(
        np.concatenate(([True], ranked[1:] != ranked[:-1])), place, 0))
    order = order[(place - first < MAX_EXPLAINED) & (rank[ranked] > 0)]
    found: dict[int, list[Contribution]] = {}
    paths: dict[int, tuple[str, ...] | None] = {}
    for i in order.tolist():
        row = int(batch.src[i])
        kept = found.setdefault(row, [])
        tie, target = batch.swaying[i], int(batch.dst[i])
        c = int(batch.cid[row])
        if target not in paths:
            paths[target] = _path(target, before, batch.people[c], int(batch.offset[c]))
        onward = paths[target]
        kept.append(Contribution(tie.source, tie.target, tie.kind, round(tie.influence, 4),
                                 float(share[i]),
                                 (tie.source, *onward) if onward else (tie.source, tie.target)))
    return {row: tuple(items) for row, items in found.items()}


def reach(members: Sequence[Member], ties: Sequence[Tie]) -> dict[str, float]:
    """The personalized PageRank p(u) of step 1 (power iteration)."""
    batch = _Batch([(members, ties)])
    return dict(zip(batch.people[0], _reach(batch).tolist(), strict=True))


def brokers(ties: Sequence[Tie]) -> dict[str, float]:
    """Normalised betweenness on the undirected graph of every tie (staff included)."""
    return betweenness(sorted((tie.source, tie.target) for tie in ties))


def _prior(roles: Sequence[str] | None) -> float:
    return max((ROLE_PRIOR.get(role, 0.0) for role in roles or ()), default=OUTSIDER_PRIOR)


def score_many(problems: Sequence[Problem]) -> list[dict[str, Score]]:
    """`score` of each committee, computed together."""
    batch = _Batch(problems)
    rank = _reach(batch)
    explained = _explanations(batch, rank, _predecessors(batch))
    values = rank.tolist()
    betweens = betweenness_many([sorted((tie.source, tie.target) for tie in ties)
                                 for ties in batch.ties])
    result: list[dict[str, Score]] = []
    for c, (people, between) in enumerate(zip(batch.people, betweens, strict=True)):
        base = int(batch.offset[c])
        mine = values[base:base + len(people)]
        top = max(mine, default=0.0) or 1.0
        roles = {member.id: member.roles for member in batch.members[c]}
        result.append({person: Score(
            influence=min(1.0, round(BLEND * value / top + (1 - BLEND) * _prior(
                roles.get(person)), 4)),
            betweenness=round(between.get(person, 0.0), 6),
            explanation=explained.get(base + k, ()))
            for k, (person, value) in enumerate(zip(people, mine, strict=True))})
    return result


def score(members: Sequence[Member], ties: Sequence[Tie]) -> dict[str, Score]:
    """Influence, betweenness and explanation of everyone in the committee's subgraph."""
    return score_many([(members, ties)])[0]
