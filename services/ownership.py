"""Pure group-structure arithmetic over an ownership subgraph (a DAG: cycles are refused)."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from graph.accounts import OwnershipEdge

HUNDRED = Decimal(100)
_PRECISION = Decimal("0.000001")


@dataclass(frozen=True)
class Relative:
    """An ancestor or descendant: its distance in levels and the effective ownership in %."""

    account_id: str
    depth: int
    effective_ownership: Decimal


def share(edge: OwnershipEdge) -> Decimal:
    return Decimal(repr(edge.share_pct))


def controlling_parent(edges: Iterable[OwnershipEdge], child: str) -> str | None:
    """The shareholder with the largest stake (ties: the smallest id, so the answer is stable)."""
    holders = [edge for edge in edges if edge.child_id == child]
    if not holders:
        return None
    return min(holders, key=lambda edge: (-share(edge), edge.parent_id)).parent_id


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
    owned: dict[str, Decimal] = defaultdict(Decimal)
    owned[root] = Decimal(1)
    ready = deque([root])
    while ready:
        node = ready.popleft()
        for nxt, pct in links.get(node, []):
            owned[nxt] += owned[node] * pct / HUNDRED
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                ready.append(nxt)
    return sorted(
        (
            Relative(node, level, (owned[node] * HUNDRED).quantize(_PRECISION))
            for node, level in depth.items()
            if 0 < level <= max_depth
        ),
        key=lambda relative: (relative.depth, -relative.effective_ownership,
                              relative.account_id),
    )


def descendants(edges: Iterable[OwnershipEdge], root: str, max_depth: int) -> list[Relative]:
    links: dict[str, list[tuple[str, Decimal]]] = defaultdict(list)
    for edge in edges:
        links[edge.parent_id].append((edge.child_id, share(edge)))
    return _relatives(links, root, max_depth)


def ancestors(edges: Iterable[OwnershipEdge], root: str, max_depth: int) -> list[Relative]:
    links: dict[str, list[tuple[str, Decimal]]] = defaultdict(list)
    for edge in edges:
        links[edge.child_id].append((edge.parent_id, share(edge)))
    return _relatives(links, root, max_depth)
