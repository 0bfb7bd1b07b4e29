"""Supply-risk propagation (DebtRank) and supply-chain tiers against networkx references on
fixed graphs, and a small case computed by hand."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import networkx as nx
import pytest

from analytics.supply_risk import (
    CRITICALITY_WEIGHT,
    Direction,
    Link,
    chain,
    exposure,
    impact,
)
from graph.supply import SupplyEdge

CRITICALITIES = tuple(CRITICALITY_WEIGHT)


def edge(supplier: str, buyer: str, criticality: str = "HIGH", share: str | None = "100",
         serial: int = 0) -> SupplyEdge:
    return SupplyEdge(f"{supplier}>{buyer}#{serial}", supplier, buyer, criticality,
                      None if share is None else Decimal(share))


def reference_debtrank(graph: nx.DiGraph, source: str,
                       rounds: int) -> tuple[dict[str, float], dict[str, int]]:
    """DebtRank as Battiston et al. state it, on a networkx graph whose edges carry `weight`:
    states U/D/I, synchronous rounds, each node propagating once."""
    h = dict.fromkeys(graph.nodes, 0.0)
    state = dict.fromkeys(graph.nodes, "U")
    h[source], state[source] = 1.0, "D"
    hit = {source: 0}
    for t in range(1, rounds + 1):
        previous = dict(h)
        distressed = [node for node in graph.nodes if state[node] == "D"]
        for node in graph.nodes:
            total = sum(graph[j][node]["weight"] * previous[j]
                        for j in graph.predecessors(node) if state[j] == "D")
            h[node] = min(1.0, previous[node] + total)
        for node in graph.nodes:
            if state[node] == "D":
                state[node] = "I"
            elif state[node] == "U" and h[node] > 0:
                state[node], hit[node] = "D", t
        if not distressed:
            break
    return h, hit


def to_networkx(edges: list[SupplyEdge]) -> nx.DiGraph:
    graph = nx.DiGraph()
    for item in edges:
        weight = impact(item)
        if weight <= 0:
            continue
        old = graph.get_edge_data(item.supplier_id, item.buyer_id, {"weight": 0.0})["weight"]
        graph.add_edge(item.supplier_id, item.buyer_id, weight=min(1.0, old + weight))
    return graph


def random_web(seed: int, nodes: int, edges: int) -> list[SupplyEdge]:
    rng = random.Random(seed)
    names = [f"n{index:02d}" for index in range(nodes)]
    made = []
    for serial in range(edges):
        supplier, buyer = rng.sample(names, 2)
        share = rng.choice([None, "5", "12.5", "30", "50", "80", "100", "0"])
        made.append(edge(supplier, buyer, rng.choice(CRITICALITIES), share, serial))
    return made


def test_hand_computed_case() -> None:
    # S supplies A (HIGH, 40 %) and B (SOLE_SOURCE); A and B both supply C (MEDIUM 50 %,
    # LOW 20 %); C supplies D (HIGH, no share given: the whole need); D supplies S back.
    web = [edge("S", "A", "HIGH", "40"), edge("S", "B", "SOLE_SOURCE", "100"),
           edge("A", "C", "MEDIUM", "50"), edge("B", "C", "LOW", "20"),
           edge("C", "D", "HIGH", None), edge("D", "S", "LOW", "10")]
    found = {item.account_id: item for item in exposure(web, "S", 5)}
    # A = .75 × .4 = .3; B = 1; C = .3 × .25 + 1 × .05 = .125; D = .125 × .75 = .09375
    assert {key: (item.tier, item.score) for key, item in found.items()} == {
        "A": (1, pytest.approx(0.3)), "B": (1, 1.0), "C": (2, pytest.approx(0.125)),
        "D": (3, pytest.approx(0.09375))}
    assert found["C"].path == ("S", "A", "C")  # .075 from A beats .05 from B
    assert found["D"].path == ("S", "A", "C", "D")
    assert [item.account_id for item in exposure(web, "S", 5)] == ["B", "A", "C", "D"]


def test_max_tier_stops_the_propagation() -> None:
    web = [edge("S", "A"), edge("A", "B"), edge("B", "C")]
    assert [(item.account_id, item.tier) for item in exposure(web, "S", 2)] == [
        ("A", 1), ("B", 2)]


def test_a_node_propagates_once_so_loops_do_not_amplify() -> None:
    web = [edge("S", "A", "MEDIUM", "50"), edge("A", "B", "HIGH", "100"),
           edge("B", "A", "HIGH", "100"), edge("B", "C", "LOW", "100")]
    found = {item.account_id: item.score for item in exposure(web, "S", 5)}
    # A = .25, B = .1875 (A's .25 × .75); B's return to A (.1875 × .75) arrives after A has
    # propagated: it raises A's own distress but is not passed on again.
    assert found == {"A": pytest.approx(0.25 + 0.140625), "B": pytest.approx(0.1875),
                     "C": pytest.approx(0.046875)}


def test_zero_share_does_not_expose() -> None:
    assert exposure([edge("S", "A", "SOLE_SOURCE", "0")], "S", 3) == []


@pytest.mark.parametrize("seed", range(12))
def test_exposure_matches_the_networkx_reference(seed: int) -> None:
    web = random_web(seed, nodes=25, edges=70)
    graph = to_networkx(web)
    for rounds in (1, 3, 5):
        found = exposure(web, "n00", rounds)
        if "n00" not in graph:
            assert found == []
            continue
        scores, hit = reference_debtrank(graph, "n00", rounds)
        expected = {node: (hit[node], scores[node]) for node in hit if node != "n00"}
        wanted: dict[str, Any] = {node: (tier, pytest.approx(score, abs=1e-12))
                                  for node, (tier, score) in expected.items()}
        assert {item.account_id: (item.tier, item.score) for item in found} == wanted
        distances = nx.single_source_shortest_path_length(graph, "n00", cutoff=rounds)
        for item in found:
            assert item.tier == distances[item.account_id]
            assert item.path[0] == "n00" and item.path[-1] == item.account_id
            assert len(item.path) == item.tier + 1
            assert nx.is_path(graph, list(item.path))


def near_end(link: Link[SupplyEdge], direction: Direction) -> str:
    edge = link.edge
    return edge.buyer_id if direction is Direction.UPSTREAM else edge.supplier_id


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("direction", list(Direction))
def test_chain_tiers_match_networkx(seed: int, direction: Direction) -> None:
    web = random_web(100 + seed, nodes=30, edges=60)
    graph = nx.MultiDiGraph()
    for item in web:
        graph.add_edge(item.supplier_id, item.buyer_id, key=item.id)
    walked = graph.reverse() if direction is Direction.UPSTREAM else graph
    for depth in (1, 2, 4):
        links = chain(web, "n00", direction, depth)
        distance = (nx.single_source_shortest_path_length(walked, "n00", cutoff=depth)
                    if "n00" in graph else {"n00": 0})
        expected = sorted(
            (distance[far], far, near, key)
            for near, far, key in walked.edges(keys=True)
            if near in distance and distance[near] < depth and far != "n00")
        assert [(link.tier, link.account_id, near_end(link, direction), link.edge.id)
                for link in links] == expected
