"""Exact normalised betweenness centrality of a small undirected graph, equal to networkx's
`betweenness_centrality(graph, normalized=True)`, fast on the graphs around a buying
committee: most of their nodes are leaves (a staff user who knows one person, a person tied
to the committee by one tie), and trees hanging off the rest carry no choice of path.

Trees are pruned first (a leaf is folded into its neighbour, repeatedly). A pruned node u
splits its component into the subtrees folded into it and the rest; every path between two
of those parts passes through u, so it is on Σᵢ<ⱼ cᵢ·cⱼ pairs. What is left (the core) is
scored by Brandes' algorithm with each core node standing for itself and the trees folded
into it; a core node is also on every path from one of its trees to another or to the rest
of its component. Pairs are unordered; networkx's normalisation divides their number, twice,
by (n − 1)(n − 2).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt
from scipy import sparse

_CELLS = 1 << 21  # matrix cells per stacked array (16 MiB of floats)
_SPARSE_FROM = 64  # cores of more nodes go one at a time, their links a sparse matrix
Core = tuple[list[str], dict[str, set[str]], dict[str, int]]


def _pairs(sizes: list[int]) -> int:
    """Σᵢ<ⱼ sizes[i]·sizes[j]."""
    total = sum(sizes)
    return (total * total - sum(size * size for size in sizes)) // 2


def _components(links: dict[str, set[str]]) -> dict[str, int]:
    """The size of each node's connected component."""
    size: dict[str, int] = {}
    for start in links:
        if start in size:
            continue
        seen, queue = {start}, [start]
        while queue:
            node = queue.pop()
            for nxt in links[node]:
                if nxt not in seen:
                    seen.add(nxt)
                    queue.append(nxt)
        for node in seen:
            size[node] = len(seen)
    return size


def _prune(links: dict[str, set[str]], component: dict[str, int],
           between: dict[str, float]) -> tuple[dict[str, int], dict[str, list[int]]]:
    """Folds every hanging tree into its core node, scoring the pruned nodes; returns each
    core node's weight (itself and what was folded into it) and its folded subtree sizes.
    Mutates `links` down to the core."""
    weight = dict.fromkeys(links, 1)
    hanging: dict[str, list[int]] = {node: [] for node in links}
    leaves = deque(sorted(node for node, near in links.items() if len(near) == 1))
    while leaves:
        leaf = leaves.popleft()
        if len(links[leaf]) != 1:
            continue
        (parent,) = links.pop(leaf)
        links[parent].discard(leaf)
        between[leaf] = float(_pairs([*hanging.pop(leaf),
                                      component[leaf] - weight[leaf]]))
        hanging[parent].append(weight.pop(leaf))
        weight[parent] = 1 + sum(hanging[parent])
        if len(links[parent]) == 1:
            leaves.append(parent)
    return weight, hanging


def _brandes(cores: list[tuple[list[str], dict[str, set[str]], dict[str, int]]]
             ) -> list[npt.NDArray[np.float64]]:
    """Weighted pair dependencies of each core (its nodes, links and weights), summed over
    every source (so each unordered pair twice): Brandes' algorithm from all sources at once
    on dense matrices, cores of a similar size stacked in one array."""
    found: list[npt.NDArray[np.float64]] = [np.zeros(0)] * len(cores)
    order = sorted(range(len(cores)), key=lambda i: len(cores[i][0]))
    while order:
        width = max(1, len(cores[order[0]][0]))
        width = width if width > _SPARSE_FROM else 1 << (width - 1).bit_length()
        group = [i for i in order if len(cores[i][0]) <= width][:max(1, _CELLS // width ** 2)]
        group = group[:1] if width > _SPARSE_FROM else group
        order = order[len(group):]
        for i, value in zip(group, _dense([cores[i] for i in group], width), strict=True):
            found[i] = value
    return found


def _dense(cores: list[tuple[list[str], dict[str, set[str]], dict[str, int]]],
           width: int) -> list[npt.NDArray[np.float64]]:
    batch = len(cores)
    links = np.zeros((batch, width, width))
    weight = np.zeros((batch, width))
    for b, (nodes, near, weights) in enumerate(cores):
        index = {node: k for k, node in enumerate(nodes)}
        for node in nodes:
            weight[b, index[node]] = weights[node]
            for other in near[node]:
                links[b, index[node], index[other]] = 1.0
    def spread(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """values @ links (links are symmetric)."""
        if width <= _SPARSE_FROM:
            return values @ links
        return np.asarray(sparse_links @ values[0].T).T[None]

    sparse_links = sparse.csr_matrix(links[0]) if width > _SPARSE_FROM else None
    eye = np.broadcast_to(np.eye(width, dtype=bool), (batch, width, width))
    real = weight > 0
    sigma = np.where(eye & real[:, None, :], 1.0, 0.0)
    dist = np.where(sigma > 0, 0, -1)
    frontier, level = sigma, 0
    while True:
        paths = spread(frontier)
        new = (paths > 0) & (dist < 0)
        if not new.any():
            break
        level += 1
        sigma = np.where(new, paths, sigma)
        dist = np.where(new, level, dist)
        frontier = np.where(new, paths, 0.0)
    delta = np.zeros_like(sigma)
    with np.errstate(divide="ignore", invalid="ignore"):
        for depth in range(level, 0, -1):
            carried = np.where(dist == depth, (weight[:, None, :] + delta) / sigma, 0.0)
            delta += np.where(dist == depth - 1, sigma * spread(carried), 0.0)
    delta = np.where(eye, 0.0, delta)
    total = np.einsum("bs,bsv->bv", weight, delta)
    return [total[b, :len(nodes)] for b, (nodes, _, _) in enumerate(cores)]


def betweenness_many(graphs: Sequence[Iterable[tuple[str, str]]]) -> list[dict[str, float]]:
    """Normalised betweenness of every node of each simple undirected graph of edges."""
    found: list[dict[str, float]] = []
    cores: list[tuple[list[str], dict[str, set[str]], dict[str, int]]] = []
    pending: list[tuple[dict[str, float], dict[str, int], dict[str, int],
                        dict[str, list[int]], int]] = []
    for edges in graphs:
        links: dict[str, set[str]] = {}
        for first, second in edges:
            links.setdefault(first, set())
            links.setdefault(second, set())
            if first != second:
                links[first].add(second)
                links[second].add(first)
        between: dict[str, float] = {}
        found.append(between)
        if len(links) < 3:
            between.update(dict.fromkeys(links, 0.0))
            continue
        count, component = len(links), _components(links)
        weight, hanging = _prune(links, component, between)
        cores.append((sorted(links), links, weight))
        pending.append((between, component, weight, hanging, count))
    for (nodes, _, _), core, (between, component, weight, hanging, count) in zip(
            cores, _brandes(cores), pending, strict=True):
        for node, value in zip(nodes, core.tolist(), strict=True):
            local = _pairs(hanging[node]) + (weight[node] - 1) * (component[node] - weight[node])
            between[node] = value / 2 + local
        scale = 2.0 / ((count - 1) * (count - 2))
        for node in between:
            between[node] *= scale
    return found


def betweenness(edges: Iterable[tuple[str, str]]) -> dict[str, float]:
    """Normalised betweenness of every node of the simple undirected graph of `edges`."""
    return betweenness_many([edges])[0]
