"""Supply chains and supply-risk propagation over a snapshot of SUPPLIES edges: pure.

A `SUPPLIES` edge runs from a supplier to a buyer and carries a criticality and the share of
the buyer's need the supplier covers (in %). Both functions take the edges valid on the day
asked about (the graph query filters them) and never see who may read what: the caller maps
accounts outside the reader's scope to restricted stubs afterwards.

**Tiers** (`chain`): an account's tier is its distance in SUPPLIES hops from the root,
upstream (suppliers, their suppliers, …) or downstream (customers, their customers, …),
found breadth first. A link is every edge leaving an account of tier < depth away from the
root; its tier is the tier of the account at its far end (so tier-1 links end at direct
suppliers or customers). An edge leading back to the root is not a link.

**Exposure** (`exposure`) is DebtRank (Battiston et al., 2012) on the supply web, started by
the failure of one supplier. The impact of supplier *s* on buyer *b* is

    W(s→b) = criticality(s→b) × share(s→b) / 100,   criticality: LOW 0.25, MEDIUM 0.5,
                                                    HIGH 0.75, SOLE_SOURCE 1.0,

a missing share counting as 100 % (the whole need, the cautious reading) and parallel edges
between one pair summed (at most 1). Every account has a distress h ∈ [0, 1] and a state
(undistressed, distressed, inactive). At round 0 the source has h = 1 and is distressed.
In each round t = 1 … maxTier, every account distressed in round t−1 passes on its distress
to its buyers, then becomes inactive:

    h_b(t) = min(1, h_b(t−1) + Σ_{s distressed at t−1} W(s→b) · h_s(t−1))

and every buyer with h > 0 that was undistressed becomes distressed. An account propagates
once, so a loop in the web cannot amplify a shock (the defining rule of DebtRank). Along one
chain the score is the product of the impacts (criticality and share compound); parallel
chains add up, capped at 1. The tier of an exposed account is the round it was first hit
(its distance from the source over edges with an impact); its score is h after maxTier
rounds.

**The path that explains a score** runs from the source to the account, tier by tier: its
last step comes from the largest contribution that first hit the account (ties: the smaller
id), and the path before it is that contributor's own path. Its length is the tier.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Generic, Protocol, TypeVar

CRITICALITY_WEIGHT = {"LOW": 0.25, "MEDIUM": 0.5, "HIGH": 0.75, "SOLE_SOURCE": 1.0}
HUNDRED = Decimal(100)


class Direction(Enum):
    UPSTREAM = "UPSTREAM"  # towards suppliers
    DOWNSTREAM = "DOWNSTREAM"  # towards customers


class SupplyEdge(Protocol):
    """One SUPPLIES relationship, supplier → buyer (the graph module's edges are these)."""

    @property
    def id(self) -> str: ...

    @property
    def supplier_id(self) -> str: ...

    @property
    def buyer_id(self) -> str: ...

    @property
    def criticality(self) -> str: ...  # LOW, MEDIUM, HIGH or SOLE_SOURCE

    @property
    def share_pct(self) -> Decimal | None: ...  # of the buyer's need, in %; None: not known


E = TypeVar("E", bound=SupplyEdge)


@dataclass(frozen=True)
class Link(Generic[E]):
    """An edge of a supply chain, seen from the root: `account_id` is its far end."""

    edge: E
    account_id: str
    tier: int


@dataclass(frozen=True)
class Exposed:
    """An account the failure of the source reaches: first hit in round `tier`, distress
    `score`, and the path (source … account) of the largest contributions."""

    account_id: str
    tier: int
    score: float
    path: tuple[str, ...]


def impact(edge: SupplyEdge) -> float:
    """W(s→b): the fraction of the buyer's distress caused by the supplier's failure."""
    share = 1.0 if edge.share_pct is None else float(edge.share_pct / HUNDRED)
    return CRITICALITY_WEIGHT[edge.criticality] * share


def chain(edges: Iterable[E], root: str, direction: Direction, depth: int) -> list[Link[E]]:
    """The links of the supply chain around `root` to `depth` tiers, nearest first (then by
    far end, near end and edge id, so the order is stable)."""
    away: dict[str, list[tuple[str, E]]] = defaultdict(list)
    for edge in edges:
        near, far = ((edge.buyer_id, edge.supplier_id) if direction is Direction.UPSTREAM
                     else (edge.supplier_id, edge.buyer_id))
        away[near].append((far, edge))
    tier = {root: 0}
    queue = deque([root])
    while queue:
        node = queue.popleft()
        if tier[node] == depth:
            continue
        for far, _ in away.get(node, []):
            if far not in tier:
                tier[far] = tier[node] + 1
                queue.append(far)
    links = [(near, Link(edge, far, tier[far])) for near, level in tier.items()
             if level < depth for far, edge in away.get(near, []) if far != root]
    ordered = sorted(links, key=lambda pair: (pair[1].tier, pair[1].account_id, pair[0],
                                              pair[1].edge.id))
    return [link for _, link in ordered]


def impacts(edges: Iterable[SupplyEdge]) -> dict[str, dict[str, float]]:
    """supplier → buyer → W, parallel edges summed and capped at 1, edges without impact
    dropped."""
    weights: dict[str, dict[str, float]] = defaultdict(dict)
    for edge in edges:
        weight = impact(edge)
        if weight > 0 and edge.supplier_id != edge.buyer_id:
            buyers = weights[edge.supplier_id]
            buyers[edge.buyer_id] = min(1.0, buyers.get(edge.buyer_id, 0.0) + weight)
    return weights


def exposure(edges: Iterable[SupplyEdge], source: str, max_tier: int) -> list[Exposed]:
    """DebtRank from the failure of `source`, `max_tier` rounds; the exposed accounts by tier,
    then by score (highest first), then by id."""
    weights = impacts(edges)
    distress = {source: 1.0}
    tier = {source: 0}
    path: dict[str, tuple[str, ...]] = {source: (source,)}
    frontier = [source]
    for round_ in range(1, max_tier + 1):
        received: dict[str, float] = defaultdict(float)
        strongest: dict[str, tuple[float, str]] = {}
        for supplier in sorted(frontier):
            for buyer, weight in sorted(weights.get(supplier, {}).items()):
                contribution = weight * distress[supplier]
                received[buyer] += contribution
                best = strongest.get(buyer)
                if best is None or contribution > best[0]:
                    strongest[buyer] = (contribution, supplier)
        frontier = []
        for buyer, amount in sorted(received.items()):
            distress[buyer] = min(1.0, distress.get(buyer, 0.0) + amount)
            if buyer not in tier:
                tier[buyer] = round_
                path[buyer] = (*path[strongest[buyer][1]], buyer)
                frontier.append(buyer)
        if not frontier:
            break
    found = [Exposed(node, level, distress[node], path[node])
             for node, level in tier.items() if node != source]
    return sorted(found, key=lambda item: (item.tier, -item.score, item.account_id))
