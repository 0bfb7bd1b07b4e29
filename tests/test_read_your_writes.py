"""Read your own writes: a mutation that changes the graph answers once its change is in the
graph, so the README's example (link a parent, then read the group tree) sent back to back,
with nothing in between, always shows the new tree."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import text

from relational.repositories.outbox import PROJECTOR_LOCK
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


@asynccontextmanager
async def _projector_held(api: Api, seconds: float) -> AsyncIterator[None]:
    """Another instance holds the projector's lock for `seconds` from the start of the block
    (released in the background): the graph lags."""
    held = asyncio.Event()

    async def hold() -> None:
        async with api.stores.ledger.sessionmaker() as session, session.begin():
            await session.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                  {"key": PROJECTOR_LOCK})
            held.set()
            await asyncio.sleep(seconds)

    holder = asyncio.create_task(hold())
    await held.wait()
    yield
    await holder


async def test_the_readme_example_sent_back_to_back_shows_the_new_tree(api: Api) -> None:
    """Each write is made while another instance holds the projector's lock for a moment, so
    the graph lags behind every one of them: without the wait, the reads would see the old
    tree."""
    for round_ in range(15):
        child = await _company(api, f"成都锐芯防务电子有限公司{round_}")
        parent = await _company(api, f"中国锐芯集团有限公司{round_}")
        async with _projector_held(api, 0.2):
            linked = await api.data(LINK, {"child": child, "parent": parent})
        assert linked["accountLinkParent"]["projectionPending"] is False
        seen = await api.data(READ, {"id": child})
        assert seen["account"]["parent"] == {"id": parent}, round_
        assert seen["account"]["ultimateParent"] == {"id": parent}, round_
        ancestors: list[dict[str, Any]] = seen["account"]["groupTree"]["ancestors"]
        assert ancestors == [{"account": {"id": parent}, "depth": 1,
                              "effectiveOwnership": "60.000000"}], round_
        async with _projector_held(api, 0.2):
            unlinked = await api.data(UNLINK, {"child": child, "parent": parent})
        assert unlinked["accountUnlinkParent"]["projectionPending"] is False
        after = await api.data(READ, {"id": child})
        assert after["account"]["parent"] is None, round_


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
