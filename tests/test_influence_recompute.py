"""`crm influence recompute` and `crm graph rebuild` put back every committee's stored
influence scores, computed from the graph (as the projector's follower computes them), with
the progress lines of the other bulk commands."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from graph import decisions
from services import clock
from settings import Settings
from tests.conftest import Api
from tests.factories import raw_id
from tests.test_decision_maps_api import YEAR_AGO, committee, expected_scores
from tests.test_graph import crm
from tests.test_interactions_api import log
from tests.test_relationships_api import relate

SCORES = "SELECT contact_id::text, influence FROM influence_scores WHERE account_id = :id"


async def stored(api: Api, account: str) -> dict[str, float]:
    async with api.stores.read() as session:
        found = await session.execute(text(SCORES), {"id": raw_id(account)})
        return {contact: float(value) for contact, value in found}


def wanted(people: dict[str, str]) -> dict[str, float]:
    return {raw_id(gid): value.influence for gid, value in expected_scores(people).items()}


async def test_recompute_restores_every_committees_scores(api: Api, settings: Settings) -> None:
    people = await committee(api)
    await api.projector.drain()
    assert await stored(api, people["account"]) == wanted(people)
    async with api.stores.ledger.sessionmaker() as session:
        await session.execute(text("DELETE FROM influence_scores"))
        await session.commit()

    result = await asyncio.to_thread(crm, settings, "influence", "recompute")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["influence scores recomputed: 1 committees"]
    assert "influence recompute: 100.0% 1/1" in result.stderr
    assert await stored(api, people["account"]) == wanted(people)


async def test_graph_rebuild_recomputes_the_scores(api: Api, settings: Settings) -> None:
    people = await committee(api)
    await api.projector.drain()
    async with api.stores.ledger.sessionmaker() as session:
        await session.execute(text("UPDATE influence_scores SET influence = 0"))
        await session.commit()

    result = await asyncio.to_thread(crm, settings, "graph", "rebuild")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("graph rebuilt: 1 accounts, 4 contacts")
    assert lines[1] == "influence scores recomputed: 1 committees"
    assert await stored(api, people["account"]) == wanted(people)


async def test_the_full_read_of_ties_matches_the_committee_subgraph(api: Api) -> None:
    """The full recompute reads ties grouped by one end and packed; what it reads (ids, kinds,
    ends, weights, KNOWS included) is what a committee's own subgraph query returns."""
    people = await committee(api)
    await log(api, people["account"], [people["王工"]], direction="INBOUND")
    await relate(api, kind="INFLUENCES", fromId=people["赵经理"], toId=people["钱主任"],
                 weight=0.1234, validFrom=YEAR_AGO)
    await api.projector.drain()
    today = clock.today().isoformat()
    members = [raw_id(people[name]) for name in ("李总", "王工", "赵经理", "钱主任")]
    own = await decisions.committee_subgraph(api.stores.graph, members, today)
    every = await decisions.all_edges(api.stores.graph, today)

    def seen(edges: list[decisions.Edge]) -> set[tuple[object, ...]]:
        return {(e.id, e.kind, e.from_id, e.to_id, e.weight) for e in edges}

    assert seen(own) == seen(decisions.tied(members, every))
    assert {e.kind for e in own} == {"INFLUENCES", "REPORTS_TO", "KNOWS"}
    assert 0.1234 in {e.weight for e in own}
    assert all(e.valid_from == YEAR_AGO for e in own if e.kind != "KNOWS")
