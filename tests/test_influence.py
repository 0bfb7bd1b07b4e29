"""Influence scoring against networkx references on fixed graphs and a case computed by hand."""

from __future__ import annotations

import networkx as nx
import pytest

from analytics.influence import ALPHA, Member, Tie, brokers, reach, score, score_many

DM = ("DECISION_MAKER",)


def _reference(members: list[Member], ties: list[Tie]) -> dict[str, float]:
    graph = nx.DiGraph()
    graph.add_nodes_from({m.id for m in members} | {t.source for t in ties}
                         | {t.target for t in ties})
    for tie in ties:
        weight = tie.influence
        if graph.has_edge(tie.target, tie.source):
            graph[tie.target][tie.source]["weight"] += weight
        else:
            graph.add_edge(tie.target, tie.source, weight=weight)
    deciders = {m.id: 1.0 for m in members if "DECISION_MAKER" in m.roles}
    return dict(nx.pagerank(graph, alpha=ALPHA, personalization=deciders, weight="weight",
                            tol=1e-12, max_iter=1000))


def test_the_hand_computed_case() -> None:
    # a sways the decision maker d fully; a has no influencer (dangling: back to d).
    # p(a) = 0.85·p(d); p(d) = 0.15 + 0.85·p(a) = 0.15 + 0.7225·p(d) → p(d) = 0.15 / 0.2775.
    members = [Member("d", DM), Member("a", ("CHAMPION",))]
    ties = [Tie("t1", "INFLUENCES", "a", "d", 1.0)]
    rank = reach(members, ties)
    assert rank["d"] == pytest.approx(0.15 / 0.2775, abs=1e-9)
    assert rank["a"] == pytest.approx(0.85 * 0.15 / 0.2775, abs=1e-9)
    scores = score(members, ties)
    # influence = 0.7 · p / max p + 0.3 · prior: d = 0.7 + 0.3; a = 0.7 · 0.85 + 0.3 · 0.7.
    assert scores["d"].influence == 1.0
    assert scores["a"].influence == round(0.7 * 0.85 + 0.3 * 0.7, 4) == 0.805
    (only,) = scores["a"].explanation
    assert (only.from_id, only.to_id, only.kind, only.weight, only.path) == (
        "a", "d", "INFLUENCES", 1.0, ("a", "d"))
    assert only.share == 1.0  # all of a's reach comes through d


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_reach_matches_networkx_pagerank_on_fixed_graphs(seed: int) -> None:
    graph = nx.gnp_random_graph(25, 0.15, seed=seed, directed=True)
    members = [Member(f"p{n}", DM if n % 7 == 0 else ("USER",)) for n in graph.nodes]
    ties = [Tie(f"t{u}-{v}", "REPORTS_TO" if (u + v) % 5 == 0 else "INFLUENCES", f"p{u}",
                f"p{v}", ((u * 31 + v * 17) % 10 + 1) / 10) for u, v in graph.edges]
    ours, theirs = reach(members, ties), _reference(members, ties)
    assert ours.keys() == theirs.keys()
    for person, value in theirs.items():
        assert ours[person] == pytest.approx(value, abs=1e-8), person


def test_brokers_match_networkx_betweenness_and_explanations_add_up() -> None:
    members = [Member("d", DM), Member("b", ("INFLUENCER",)), Member("x", ("USER",)),
               Member("y", ("USER",))]
    ties = [Tie("1", "INFLUENCES", "x", "b", 0.8), Tie("2", "INFLUENCES", "y", "b", 0.4),
            Tie("3", "REPORTS_TO", "b", "d"), Tie("4", "KNOWS", "staff", "x", 0.6)]
    graph = nx.Graph([("x", "b"), ("y", "b"), ("b", "d"), ("staff", "x")])
    assert brokers(ties) == pytest.approx(nx.betweenness_centrality(graph, normalized=True))
    scores = score(members, ties)
    assert scores["b"].betweenness > scores["x"].betweenness > scores["d"].betweenness == 0
    assert scores["x"].explanation[0].path == ("x", "b", "d")
    assert scores["x"].influence > scores["y"].influence  # a stronger tie reaches further
    assert "staff" not in scores
    assert score(members, ties) == scores  # deterministic


def _graph(seed: int) -> nx.Graph:
    """Random graphs with hanging trees (leaves, chains) as committee subgraphs have."""
    graph = nx.gnp_random_graph(30, 0.08, seed=seed)
    for node in range(0, 30, 3):
        graph.add_edge(node, 100 + node)
        if node % 2:
            graph.add_edge(100 + node, 200 + node)
    if seed % 2:
        graph.add_edges_from([(300, 301), (301, 302)])  # a separate small tree
    return nx.relabel_nodes(graph, {node: f"n{node}" for node in graph})


@pytest.mark.parametrize("seed", [4, 5, 6, 7])
def test_betweenness_matches_networkx_with_trees_and_components(seed: int) -> None:
    graph = _graph(seed)
    ties = [Tie(f"t{n}", "INFLUENCES", u, v, 0.5) for n, (u, v) in enumerate(graph.edges)]
    expected = nx.betweenness_centrality(nx.Graph(graph.edges), normalized=True)
    found = brokers(ties)
    assert found.keys() == expected.keys()
    for node, value in expected.items():
        assert found[node] == pytest.approx(value, abs=1e-12), node
    tree = nx.relabel_nodes(nx.random_labeled_tree(40, seed=seed), str)
    as_ties = [Tie(str(n), "KNOWS", str(u), str(v), 0.3) for n, (u, v) in enumerate(tree.edges)]
    assert brokers(as_ties) == pytest.approx(nx.betweenness_centrality(tree, normalized=True),
                                             abs=1e-12)


def test_committees_scored_together_score_as_alone() -> None:
    problems = []
    for seed in (1, 2, 3):
        graph = nx.gnp_random_graph(20 + seed, 0.12, seed=seed, directed=True)
        members = [Member(f"p{seed}-{n}", DM if n % 6 == 0 else ("USER",))
                   for n in graph.nodes]
        ties = [Tie(f"t{seed}-{u}-{v}", "INFLUENCES", f"p{seed}-{u}", f"p{seed}-{v}",
                    ((u + v) % 9 + 1) / 10) for u, v in graph.edges]
        problems.append((members, ties))
    problems.append(([], []))
    assert score_many(problems) == [score(members, ties) for members, ties in problems]
    assert score_many(problems)[-1] == {}
