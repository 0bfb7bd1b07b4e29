"""Read your own writes: a mutation that changes the graph answers once its change is in the
graph, so the README's example (link a parent, then read the group tree) sent back to back,
with nothing in between, always shows the new tree."""

from __future__ import annotations

import asyncio
import random
from typing import Any

from sqlalchemy import text

from services.uscc import make_uscc
from tests.conftest import Api

CREATE = """mutation($input: AccountCreateInput!) {
  accountCreate(input: $input) { account { id } projectionPending } }"""
LINK = """mutation($child: ID!, $parent: ID!) {
  accountLinkParent(input: {childId: $child, parentId: $parent, sharePct: 60}) {
    account { id } parent { id } sharePct projectionPending } }"""
UNLINK = """mutation($child: ID!, $parent: ID!) {
  accountUnlinkParent(input: {childId: $child, parentId: $parent}) { projectionPending } }"""
READ = """query($id: ID!) { account(id: $id) {
  parent { id } ultimateParent { id }
  groupTree(depth: 5) { ancestors { account { id } depth effectiveOwnership } } } }"""

_rng = random.Random(4242)


async def _company(api: Api, name: str) -> str:
    data = await api.data(CREATE, {"input": {
        "name": name, "uscc": make_uscc(_rng, division="510100"), "region": "西南",
        "industry": "国防电子", "annualRevenue": "820000000.00"}})
    assert data["accountCreate"]["projectionPending"] is False
    account_id: str = data["accountCreate"]["account"]["id"]
    return account_id


async def test_the_readme_example_sent_back_to_back_shows_the_new_tree(api: Api) -> None:
    for round_ in range(15):
        child = await _company(api, f"成都锐芯防务电子有限公司{round_}")
        parent = await _company(api, f"中国锐芯集团有限公司{round_}")
        linked = await api.data(LINK, {"child": child, "parent": parent})
        assert linked["accountLinkParent"]["projectionPending"] is False
        seen = await api.data(READ, {"id": child})
        assert seen["account"]["parent"] == {"id": parent}, round_
        assert seen["account"]["ultimateParent"] == {"id": parent}, round_
        ancestors: list[dict[str, Any]] = seen["account"]["groupTree"]["ancestors"]
        assert ancestors == [{"account": {"id": parent}, "depth": 1,
                              "effectiveOwnership": "60.000000"}], round_
        unlinked = await api.data(UNLINK, {"child": child, "parent": parent})
        assert unlinked["accountUnlinkParent"]["projectionPending"] is False
        after = await api.data(READ, {"id": child})
        assert after["account"]["parent"] is None, round_


async def _projector_held(api: Api, seconds: float, held: asyncio.Event) -> None:
    """Another instance holding the projector's lock for a while: the graph lags."""
    async with api.stores.ledger.sessionmaker() as session, session.begin():
        await session.execute(text("SELECT pg_advisory_xact_lock(1886547818)"))
        held.set()
        await asyncio.sleep(seconds)


async def test_a_write_answers_after_the_graph_has_it_even_when_projection_lags(
    api: Api
) -> None:
    child = await _company(api, "成都锐芯防务电子有限公司")
    parent = await _company(api, "中国锐芯集团有限公司")
    held = asyncio.Event()
    lagging = asyncio.create_task(_projector_held(api, 0.5, held))
    await held.wait()
    linked = await api.data(LINK, {"child": child, "parent": parent})
    assert linked["accountLinkParent"]["projectionPending"] is False
    seen = await api.data(READ, {"id": child})
    assert seen["account"]["parent"] == {"id": parent}
    await lagging


async def test_a_write_the_graph_cannot_take_says_its_projection_is_pending(
    api: Api, falkor: Any
) -> None:
    """With the graph down the write is still committed; the payload says it is pending."""
    child = await _company(api, "甲公司")
    parent = await _company(api, "乙公司")
    falkor.stop()
    try:
        linked = await api.data(LINK, {"child": child, "parent": parent})
        assert linked["accountLinkParent"]["projectionPending"] is True
        assert await api.scalar("SELECT count(*) FROM account_edges") == 1
    finally:
        falkor.start()
    await api.projector.drain()
    seen = await api.data(READ, {"id": child})
    assert seen["account"]["parent"] == {"id": parent}
