"""The demo supply web: a sound plan (pure), and the seeded demo answering supply chains and an
exposure from its disrupted supplier over HTTP."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal

import httpx
import pytest

from graph.projection import Projector
from resolvers.ids import to_global_id
from services.demo import seed_demo
from services.demo_data import build_demo_dataset
from services.demo_supply import DISRUPTION_REASON, TIERS, plan_supply
from services.stores import Stores
from tests.conftest import Api, Seed, reset

TODAY = date(2026, 12, 1)


def test_plan_is_deterministic_and_sound() -> None:
    data = build_demo_dataset()
    plan = plan_supply(data, TODAY)
    assert plan == plan_supply(data, TODAY)
    tier = {account.key: next(level for level, names in enumerate(TIERS)
                              if account.industry in names) for account in data.accounts}
    shares: dict[str, Decimal] = defaultdict(Decimal)
    for edge in plan.edges:
        assert edge.supplier_key != edge.buyer_key
        assert 1 <= tier[edge.buyer_key] - tier[edge.supplier_key] <= 2
        assert edge.valid_from < TODAY and (edge.valid_to is None or edge.valid_to < TODAY)
        assert edge.products
        shares[edge.buyer_key] += edge.share_pct
    assert max(shares.values()) <= 100
    assert len(plan.edges) >= 200
    assert {edge.criticality for edge in plan.edges} == {"LOW", "MEDIUM", "HIGH",
                                                         "SOLE_SOURCE"}
    assert tier[plan.disrupted_key] == 0 and plan.disrupted_since < TODAY


@pytest.fixture
async def demo(server: str, stores: Stores, projector: Projector,
               seed: Seed) -> AsyncIterator[Api]:
    await reset(stores, projector)
    result = await seed_demo(stores.ledger, stores.cipher)
    assert result.seeded
    await projector.drain()
    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        yield Api(client, stores, projector)


async def test_the_seeded_demo_shows_a_disrupted_supplier_and_its_exposure(demo: Api) -> None:
    plan = plan_supply(build_demo_dataset(), TODAY)
    assert await demo.scalar("SELECT count(*) FROM relationships WHERE kind = 'SUPPLIES'") \
        == len(plan.edges)
    disrupted = await demo.scalar(
        "SELECT id::text FROM accounts WHERE disrupted_reason IS NOT NULL")
    source = to_global_id("Account", disrupted)
    data = await demo.data("""query($id: ID!) {
        account(id: $id) { disruption { reason } supplyChain(direction: DOWNSTREAM) { tier } }
        exposure(accountId: $id, maxTier: 5) { tier score path { id } } }""", {"id": source})
    assert data["account"]["disruption"] == {"reason": DISRUPTION_REASON}
    assert {link["tier"] for link in data["account"]["supplyChain"]} == {1, 2, 3}
    exposed = data["exposure"]
    assert {item["tier"] for item in exposed} >= {1, 2, 3}
    assert all(0 < item["score"] <= 1 and item["path"][0] == {"id": source}
               and len(item["path"]) == item["tier"] + 1 for item in exposed)
