"""The graph projection: idempotent projector, graph outages, `crm graph verify` / `rebuild`.
Runs against every configured engine (FalkorDB always, Neo4j when NEO4J_TEST_URL is set)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from graph import projector as graph_projector
from graph import snapshot
from graph.embedded import EmbeddedFalkorDB
from graph.projector import GraphEvent
from services import graph_sync
from settings import Settings
from tests.conftest import Api
from tests.test_groups_api import TREE, company, linked, members

ROOT = Path(__file__).resolve().parent.parent


def crm(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """The real command line, as an operator runs it."""
    assert settings.database_url and settings.graph_url
    env = {**os.environ, "DATABASE_URL": settings.database_url,
           "GRAPH_URL": settings.graph_url, "SEED_DEMO": "false"}
    return subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "cli", *args], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=120, check=False)


async def graph_counts(api: Api) -> tuple[int, int, int]:
    nodes = await api.stores.graph.read("MATCH (n) RETURN count(n) AS n")
    owns = await api.stores.graph.read("MATCH ()-[r:OWNS]->() RETURN count(r) AS n")
    works = await api.stores.graph.read("MATCH ()-[r:WORKS_AT]->() RETURN count(r) AS n")
    return int(nodes[0]["n"]), int(owns[0]["n"]), int(works[0]["n"])


async def test_projector_replays_are_idempotent(api: Api) -> None:
    events = [
        GraphEvent("account.created", {"id": "a", "name": "甲", "region": "华东",
                                       "industry": "x", "lifecycleStage": "POTENTIAL"}),
        GraphEvent("account.created", {"id": "b", "name": "乙", "region": "华东",
                                       "industry": "x", "lifecycleStage": "POTENTIAL"}),
        GraphEvent("ownership.linked", {"parentId": "a", "childId": "b", "share": "51.0000"}),
        GraphEvent("contact.created", {"id": "c", "accountId": "b", "name": "张伟",
                                       "title": None}),
        GraphEvent("account.updated", {"id": "a", "name": "甲2", "region": "华东",
                                       "industry": "x", "lifecycleStage": "CUSTOMER"}),
    ]
    await graph_projector.apply(api.stores.graph, events)
    once = await graph_counts(api)
    await graph_projector.apply(api.stores.graph, events)
    await graph_projector.apply(api.stores.graph, events[2:])
    assert await graph_counts(api) == once == (3, 1, 1)
    rows = await api.stores.graph.read(
        "MATCH (a:Account {id: 'a'})-[r:OWNS]->(b:Account) "
        "RETURN a.name AS name, a.lifecycleStage AS stage, r.share AS share, b.id AS child")
    assert rows == [{"name": "甲2", "stage": "CUSTOMER", "share": "51.0000", "child": "b"}]


async def test_every_mutation_reaches_the_graph_and_verify_agrees(api: Api) -> None:
    parent, child = await company(api, "母"), await company(api, "子")
    await linked(api, child, parent, 75)
    created = await api.data(
        'mutation($id: ID!) { contactCreate(input: {accountId: $id, name: "王芳", '
        'title: "采购部部长", phone: "13800138000"}) { contact { id } } }', {"id": child})
    assert created["contactCreate"]["contact"]["id"]
    await api.projector.drain()
    assert await graph_counts(api) == (3, 1, 1)
    report = await graph_sync.verify(api.stores.read, api.stores.graph)
    assert report.differences == []
    assert report.counts == {"account": 2, "contact": 1, "ownership": 1, "relationship": 0}
    phones = await api.stores.graph.read("MATCH (c:Contact) RETURN c.phone AS phone")
    assert phones == [{"phone": None}]  # personal data stays in the ledger


async def _dump(api: Api) -> list[list[dict[str, Any]]]:
    graph = api.stores.graph
    return [[row async for row in rows] for rows in (
        snapshot.accounts(graph), snapshot.contacts(graph), snapshot.ownerships(graph))]


async def test_awkward_shares_are_exact_in_the_graph_the_api_verify_and_rebuild(
    api: Api
) -> None:
    top, middle, bottom, leaf = [await company(api, n) for n in ("甲", "乙", "丙", "丁")]
    await linked(api, middle, top, "33.33")
    await linked(api, bottom, middle, 33.33)  # a JSON number is read as its shortest text
    await linked(api, leaf, bottom, "33.33")
    await api.projector.drain()
    stored = await api.stores.graph.read("MATCH ()-[r:OWNS]->() RETURN DISTINCT r.share AS s")
    assert stored == [{"s": "33.3300"}]  # a string: exact on both engines
    down = (await api.data(TREE, {"id": top, "depth": 3}))["account"]["groupTree"]
    # 33.33 % of 33.33 % is exactly 11.108889 %; one more level (3.7025927037 %) is rounded
    # half-even to the documented six places.
    assert members(down["descendants"]) == [
        (middle, 1, "33.330000"), (bottom, 2, "11.108889"), (leaf, 3, "3.702593")]
    up = (await api.data(TREE, {"id": leaf, "depth": 3}))["account"]["groupTree"]
    assert members(up["ancestors"]) == [
        (bottom, 1, "33.330000"), (middle, 2, "11.108889"), (top, 3, "3.702593")]
    outbox = await api.scalar("SELECT payload ->> 'share' FROM outbox "
                              "WHERE topic = 'ownership.linked' ORDER BY id LIMIT 1")
    assert outbox == "33.3300"
    report = await graph_sync.verify(api.stores.read, api.stores.graph)
    assert (report.differences, report.counts["ownership"]) == ([], 3)
    before = await _dump(api)
    await graph_sync.rebuild(api.stores.ledger, api.stores.graph)
    assert await _dump(api) == before
    assert (await graph_sync.verify(api.stores.read, api.stores.graph)).differences == []


async def test_verify_reports_a_share_stored_as_a_float(api: Api) -> None:
    parent, child = await company(api, "母"), await company(api, "子")
    await linked(api, child, parent, "33.33")
    await api.projector.drain()
    await api.stores.graph.write("MATCH ()-[r:OWNS]->() SET r.share = 33.33")
    differences = (await graph_sync.verify(api.stores.read, api.stores.graph)).differences
    assert [line.split(": ", 1)[1] for line in differences] == [
        "share: ledger='33.3300' graph=33.33"]
    tree = (await api.data(TREE, {"id": child}))["account"]
    assert tree["shareholders"] == [{"holder": {"id": parent}, "sharePct": "33.3300"}]


async def test_verify_lists_differences_and_rebuild_repairs_them(
    api: Api, settings: Settings
) -> None:
    parent, child = await company(api, "母"), await company(api, "子")
    await linked(api, child, parent, 75)
    await api.projector.drain()
    await api.stores.graph.write("MATCH (a:Account) WITH a LIMIT 1 SET a.name = 'tampered'")
    await api.stores.graph.write("MATCH ()-[r:OWNS]->() DELETE r")
    await api.stores.graph.write("CREATE (:Account {id: 'stray', name: 'x'})")

    result = await asyncio.to_thread(crm, settings, "graph", "verify")
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith("account ") and "name: ledger=" in line and "tampered" in line
               for line in lines), lines
    assert any(line.startswith("ownership ") and "missing in the graph" in line
               for line in lines), lines
    assert "account stray: in the graph, not in the ledger" in lines
    assert lines[-1].startswith("graph and ledger DISAGREE: 3 differences")

    rebuilt = await asyncio.to_thread(crm, settings, "graph", "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "2 accounts, 0 contacts, 1 ownerships" in rebuilt.stdout
    again = await asyncio.to_thread(crm, settings, "graph", "verify")
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.strip().endswith("graph and ledger agree (2 accounts, 0 contacts, "
                                         "1 ownerships, 0 relationships)")


async def test_graph_down_writes_are_kept_and_projected_after_restart(
    api: Api, settings: Settings, falkor: EmbeddedFalkorDB
) -> None:
    if not (settings.graph_url or "").startswith("falkordb://"):
        pytest.skip("stopping the graph is only possible for the embedded engine")
    parent = await company(api, "母")
    await api.projector.drain()
    falkor.stop()
    try:
        child = await company(api, "子")  # acknowledged while the graph is down
        await linked(api, child, parent, 90)
        assert await api.scalar("SELECT count(*) FROM outbox WHERE projected_at IS NULL") == 2
        body = await api.post(TREE, {"id": child, "depth": 2}, **{"x-request-id": "down42"})
        error = body["errors"][0]
        assert error["extensions"] == {"code": "UNAVAILABLE", "retryAfter": 2,
                                       "requestId": "down42"}
        assert error["message"] == "the relationship graph is unavailable; retry after 2 s"
    finally:
        falkor.start()
    await api.projector.drain()
    assert await api.scalar("SELECT count(*) FROM outbox WHERE projected_at IS NULL") == 0
    result = await asyncio.to_thread(crm, settings, "graph", "verify")
    assert result.returncode == 0, result.stdout + result.stderr
    data = await api.data(TREE, {"id": child, "depth": 2})
    assert data["account"]["parent"] == {"id": parent}


async def test_verify_reads_the_graph_back_in_pages(api: Api,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages of two: every node and edge read once, in id order, and a contact's workplace
    comes with it even when the page is cut right after it."""
    events = [GraphEvent("account.created", {"id": f"a{i}", "name": f"户{i}", "region": "华东",
                                             "industry": "x", "lifecycleStage": "POTENTIAL"})
              for i in range(5)]
    events += [GraphEvent("contact.created", {"id": f"c{i}", "accountId": f"a{i % 2}",
                                              "name": f"人{i}", "title": None})
               for i in range(5)]
    events += [GraphEvent("ownership.linked", {"parentId": "a0", "childId": f"a{i}",
                                               "share": "10.0000"}) for i in range(1, 4)]
    await graph_projector.apply(api.stores.graph, events)
    monkeypatch.setattr(snapshot, "_PAGE", 2)
    accounts, contacts, ownerships = await _dump(api)
    assert [row["id"] for row in accounts] == [f"a{i}" for i in range(5)]
    assert [(row["id"], row["worksAt"]) for row in contacts] == [
        (f"c{i}", [f"a{i % 2}"]) for i in range(5)]
    assert [row["id"] for row in ownerships] == [f"a0/a{i}" for i in range(1, 4)]
