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

Brokers: betweenness centrality (normalised, networkx) on the undirected graph of every tie,
staff KNOWS ties included: who sits on the paths between everyone else.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import networkx as nx

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


def _people(members: Sequence[Member], ties: Sequence[Tie]) -> list[str]:
    found = {member.id for member in members}
    for tie in ties:
        if tie.kind != "KNOWS":
            found.update((tie.source, tie.target))
    return sorted(found)


def _in_weights(ties: Sequence[Tie]) -> dict[str, dict[str, float]]:
    """target → {source: summed influence weight} of the ties that sway each person."""
    weights: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for tie in ties:
        if tie.kind != "KNOWS" and tie.influence > 0:
            weights[tie.target][tie.source] += tie.influence
    return weights


def reach(members: Sequence[Member], ties: Sequence[Tie]) -> dict[str, float]:
    """The personalized PageRank p(u) of step 1 (power iteration)."""
    people = _people(members, ties)
    if not people:
        return {}
    deciders = sorted(m.id for m in members if "DECISION_MAKER" in m.roles) or sorted(
        m.id for m in members)
    restart = {person: 0.0 for person in people}
    for person in deciders:
        restart[person] = 1.0 / len(deciders)
    sway = _in_weights(ties)
    totals = {person: sum(sway[person].values()) for person in people if person in sway}
    rank = dict(restart)
    for _ in range(MAX_ITERATIONS):
        dangling = sum(rank[p] for p in people if p not in totals)
        nxt = {p: (1 - ALPHA) * restart[p] + ALPHA * dangling * restart[p] for p in people}
        for target, total in totals.items():
            share = ALPHA * rank[target] / total
            for source, weight in sway[target].items():
                nxt[source] += share * weight
        error = sum(abs(nxt[p] - rank[p]) for p in people)
        rank = nxt
        if error < len(people) * TOLERANCE:
            break
    return rank


def _best_paths(members: Sequence[Member], ties: Sequence[Tie]) -> dict[str, list[str]]:
    """For each person, the path of largest weight product to a decision maker, along the
    direction of influence."""
    against = nx.DiGraph()
    for tie in sorted(ties, key=lambda t: t.id):
        if tie.kind != "KNOWS" and tie.influence > 0:
            cost = -math.log(min(1.0, tie.influence))
            known = against.get_edge_data(tie.target, tie.source)
            if known is None or known["cost"] > cost:
                against.add_edge(tie.target, tie.source, cost=cost)
    deciders = sorted(m.id for m in members if "DECISION_MAKER" in m.roles)
    sources = [d for d in deciders if d in against]
    if not sources:
        return {d: [d] for d in deciders}
    _, paths = nx.multi_source_dijkstra(against, sources, weight="cost")
    found = {node: list(reversed(path)) for node, path in paths.items()}
    for decider in deciders:
        found.setdefault(decider, [decider])
    return found


def brokers(ties: Sequence[Tie]) -> dict[str, float]:
    """Normalised betweenness on the undirected graph of every tie (staff included)."""
    graph = nx.Graph()
    graph.add_edges_from(sorted((tie.source, tie.target) for tie in ties))
    if graph.number_of_nodes() < 3:
        return {node: 0.0 for node in graph}
    return {str(node): float(value) for node, value in
            nx.betweenness_centrality(graph, normalized=True).items()}


def _explain(person: str, rank: dict[str, float], ties: Sequence[Tie],
             totals: dict[str, float], paths: dict[str, list[str]]) -> tuple[Contribution, ...]:
    """`ties`: the person's own outgoing ties."""
    if rank.get(person, 0.0) <= 0:
        return ()
    found: list[Contribution] = []
    for tie in ties:
        if tie.kind == "KNOWS" or tie.influence <= 0:
            continue
        part = ALPHA * rank[tie.target] * tie.influence / totals[tie.target]
        onward = paths.get(tie.target)
        path = (person, *onward) if onward else (person, tie.target)
        found.append(Contribution(tie.source, tie.target, tie.kind, round(tie.influence, 4),
                                  round(part / rank[person], 4), path))
    found.sort(key=lambda c: (-c.share, c.to_id, c.kind))
    return tuple(found[:MAX_EXPLAINED])


def score(members: Sequence[Member], ties: Sequence[Tie]) -> dict[str, Score]:
    """Influence, betweenness and explanation of everyone in the committee's subgraph."""
    ordered = sorted(ties, key=lambda tie: tie.id)
    rank = reach(members, ordered)
    if not rank:
        return {}
    top = max(rank.values()) or 1.0
    roles = {member.id: member.roles for member in members}
    sway = _in_weights(ordered)
    totals = {person: sum(sway[person].values()) for person in sway}
    paths = _best_paths(members, ordered)
    between = brokers(ordered)
    outgoing: dict[str, list[Tie]] = defaultdict(list)
    for tie in ordered:
        outgoing[tie.source].append(tie)
    result: dict[str, Score] = {}
    for person, value in rank.items():
        prior = max((ROLE_PRIOR.get(role, 0.0) for role in roles.get(person, ())),
                    default=OUTSIDER_PRIOR)
        influence = round(BLEND * value / top + (1 - BLEND) * prior, 4)
        result[person] = Score(influence=min(1.0, influence),
                               betweenness=round(between.get(person, 0.0), 6),
                               explanation=_explain(person, rank, outgoing[person], totals,
                                                    paths))
    return result
