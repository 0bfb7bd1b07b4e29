"""Influence scoring against networkx references on fixed graphs and a case computed by hand."""

from __future__ import annotations

import networkx as nx
import pytest

from analytics.influence import ALPHA, Member, Tie, brokers, reach, score

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
