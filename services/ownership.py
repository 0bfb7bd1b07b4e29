"""Pure group-structure arithmetic over an ownership subgraph (a DAG: cycles are refused)."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import MAX_PREC, Decimal, Inexact, localcontext

from graph.accounts import OwnershipEdge

HUNDRED = Decimal(100)
# Effective ownership in % is answered with six decimal places: a product of two stakes (each
# four places, the ledger's scale) is exact (33.33 % of 33.33 % = 11.108889 %); a longer path
# is rounded half-even (33.33 % of 33.33 % of 33.33 % = 3.702593 %). The products and sums are
# exact before that single rounding, so the answer never depends on the order paths arrive in.
EFFECTIVE_QUANTUM = Decimal("0.000001")


@dataclass(frozen=True)
class Relative:
    """An ancestor or descendant: its distance in levels and the effective ownership in %."""

    account_id: str
    depth: int
    effective_ownership: Decimal


def controlling_parent(edges: Iterable[OwnershipEdge], child: str) -> str | None:
    """The shareholder with the largest stake (ties: the smallest id, so the answer is stable)."""
    holders = [edge for edge in edges if edge.child_id == child]
    if not holders:
        return None
    return min(holders, key=lambda edge: (-edge.share_pct, edge.parent_id)).parent_id


def ultimate_parent(edges: list[OwnershipEdge], start: str) -> str | None:
    seen = {start}
    current, top = start, None
    while (parent := controlling_parent(edges, current)) is not None and parent not in seen:
        seen.add(parent)
        current = top = parent
    return top


def _relatives(
    links: dict[str, list[tuple[str, Decimal]]], root: str, max_depth: int
) -> list[Relative]:
    """Breadth-first for the minimal depth; ownership summed over every path in topological
    order (Kahn), each path contributing the product of its shares."""
    depth = {root: 0}
    queue = deque([root])
    while queue:
        node = queue.popleft()
        for nxt, _ in links.get(node, []):
            if nxt not in depth:
                depth[nxt] = depth[node] + 1
                queue.append(nxt)
    indegree: dict[str, int] = defaultdict(int)
    for node in depth:
        for nxt, _ in links.get(node, []):
            indegree[nxt] += 1
    owned = _owned(links, root, indegree)
    return sorted(
        (
            Relative(node, level, owned[node].quantize(EFFECTIVE_QUANTUM))
            for node, level in depth.items()
            if 0 < level <= max_depth
        ),
        key=lambda relative: (relative.depth, -relative.effective_ownership,
                              relative.account_id),
    )


def _owned(links: dict[str, list[tuple[str, Decimal]]], root: str,
           indegree: dict[str, int]) -> dict[str, Decimal]:
    """Effective ownership in % between the root and each node, summed over every path, each
    path the product of its stakes; exact (Inexact is trapped, nothing is rounded here)."""
    owned: dict[str, Decimal] = defaultdict(Decimal)
    owned[root] = HUNDRED
    ready = deque([root])
    with localcontext() as exact:
        exact.prec, exact.Emin, exact.Emax = MAX_PREC, -MAX_PREC, MAX_PREC
        exact.traps[Inexact] = True
        while ready:
            node = ready.popleft()
            for nxt, pct in links.get(node, []):
                owned[nxt] += owned[node] * pct.scaleb(-2)
                indegree[nxt] -= 1
                if indegree[nxt] == 0:
                    ready.append(nxt)
    return owned


def descendants(edges: Iterable[OwnershipEdge], root: str, max_depth: int) -> list[Relative]:
    links: dict[str, list[tuple[str, Decimal]]] = defaultdict(list)
    for edge in edges:
        links[edge.parent_id].append((edge.child_id, edge.share_pct))
    return _relatives(links, root, max_depth)


def ancestors(edges: Iterable[OwnershipEdge], root: str, max_depth: int) -> list[Relative]:
    links: dict[str, list[tuple[str, Decimal]]] = defaultdict(list)
    for edge in edges:
        links[edge.child_id].append((edge.parent_id, edge.share_pct))
    return _relatives(links, root, max_depth)
