"""Group structures over HTTP: links in the ledger, trees and roll-ups from the graph."""

from __future__ import annotations

import asyncio
import itertools
import random
from decimal import Decimal
from typing import Any

from services.uscc import make_uscc
from tests.conftest import Api

_serial = itertools.count(1)

CREATE = """
mutation($input: AccountCreateInput!) { accountCreate(input: $input) { account { id } } }
"""
LINK = """
mutation($input: AccountLinkParentInput!) {
  accountLinkParent(input: $input) { account { id } parent { id } sharePct }
}
"""
UNLINK = """
mutation($input: AccountUnlinkParentInput!) {
  accountUnlinkParent(input: $input) { account { id } parent { id } sharePct }
}
"""
TREE = """
query($id: ID!, $depth: Int) {
  account(id: $id) {
    parent { id } ultimateParent { id } groupRevenue
    shareholders { holder { id } sharePct }
    groupTree(depth: $depth) {
      ancestors { account { id } depth effectiveOwnership }
      descendants { account { id } depth effectiveOwnership }
    }
  }
}
"""


async def company(api: Api, name: str, revenue: str | None = None) -> str:
    serial = next(_serial)
    uscc = make_uscc(random.Random(serial), division="510100")
    data = await api.data(CREATE, {"input": {
        "name": f"{name}{serial}", "uscc": uscc, "region": "西南", "industry": "国防电子",
        "annualRevenue": revenue}})
    account_id: str = data["accountCreate"]["account"]["id"]
    return account_id


async def link(api: Api, child: str, parent: str, share: str | float) -> dict[str, Any]:
    return await api.post(LINK, {"input": {"childId": child, "parentId": parent,
                                           "sharePct": share}})


async def linked(api: Api, child: str, parent: str, share: str | float) -> None:
    """Link, and check the stake comes back exact with the ledger's four decimal places."""
    body = await link(api, child, parent, share)
    assert "errors" not in body, body
    assert body["data"]["accountLinkParent"] == {
        "account": {"id": child}, "parent": {"id": parent},
        "sharePct": f"{Decimal(str(share)):.4f}"}


async def tree(api: Api, account: str, depth: int | None = None) -> dict[str, Any]:
    await api.projector.drain()
    data = await api.data(TREE, {"id": account, "depth": depth})
    result: dict[str, Any] = data["account"]
    return result


def members(items: list[dict[str, Any]]) -> list[tuple[str, int, str]]:
    return [(item["account"]["id"], item["depth"], item["effectiveOwnership"]) for item in items]


async def counts(api: Api) -> tuple[int, int, int]:
    return (await api.scalar("SELECT count(*) FROM account_edges"),
            await api.scalar("SELECT count(*) FROM audit_log"),
            await api.scalar("SELECT count(*) FROM outbox"))


async def test_chain_tree_ownership_and_ultimate_parent(api: Api) -> None:
    holding, a, b, c = [await company(api, name) for name in ("控股", "甲", "乙", "丙")]
    await linked(api, a, holding, 60)
    await linked(api, b, a, 50)
    await linked(api, c, b, 100)

    top = await tree(api, holding, depth=5)
    assert top["parent"] is None and top["ultimateParent"] is None
    assert members(top["groupTree"]["ancestors"]) == []
    assert members(top["groupTree"]["descendants"]) == [
        (a, 1, "60.000000"), (b, 2, "30.000000"), (c, 3, "30.000000")]

    middle = await tree(api, b, depth=5)
    assert middle["parent"] == {"id": a}
    assert middle["ultimateParent"] == {"id": holding}
    assert middle["shareholders"] == [{"holder": {"id": a}, "sharePct": "50.0000"}]
    assert members(middle["groupTree"]["ancestors"]) == [
        (a, 1, "50.000000"), (holding, 2, "30.000000")]
    assert members(middle["groupTree"]["descendants"]) == [(c, 1, "100.000000")]

    shallow = await tree(api, holding, depth=2)
    assert members(shallow["groupTree"]["descendants"]) == [
        (a, 1, "60.000000"), (b, 2, "30.000000")]


async def test_diamond_sums_paths_and_controlling_parent_is_largest_stake(api: Api) -> None:
    holding, left, right, joint = [await company(api, n) for n in ("集团", "左", "右", "合资")]
    await linked(api, left, holding, 100)
    await linked(api, right, holding, 80)
    await linked(api, joint, left, 40)
    await linked(api, joint, right, 55.5)

    top = await tree(api, holding, depth=3)
    assert members(top["groupTree"]["descendants"]) == [
        (left, 1, "100.000000"), (right, 1, "80.000000"), (joint, 2, "84.400000")]
    bottom = await tree(api, joint)
    assert bottom["parent"] == {"id": right}
    assert bottom["ultimateParent"] == {"id": holding}
    assert members(bottom["groupTree"]["ancestors"]) == [
        (right, 1, "55.500000"), (left, 1, "40.000000"), (holding, 2, "84.400000")]


async def test_group_revenue_weights_by_effective_ownership(api: Api) -> None:
    holding = await company(api, "总部", "1000.00")
    sub = await company(api, "子公司", "500.00")
    grandchild = await company(api, "孙公司", "200.00")
    no_revenue = await company(api, "空壳")
    await linked(api, sub, holding, 60)
    await linked(api, grandchild, sub, 50)
    await linked(api, no_revenue, holding, 100)
    assert (await tree(api, holding))["groupRevenue"] == "1360.00"
    assert (await tree(api, sub))["groupRevenue"] == "600.00"
    assert (await tree(api, grandchild))["groupRevenue"] == "200.00"
    assert Decimal((await tree(api, no_revenue))["groupRevenue"]) == 0


async def test_relinking_changes_the_stake_and_unlink_removes_it(api: Api) -> None:
    parent, child = await company(api, "母"), await company(api, "子")
    await linked(api, child, parent, 30)
    await linked(api, child, parent, 70)
    assert await api.scalar("SELECT count(*) FROM account_edges") == 1
    assert (await tree(api, child))["shareholders"] == [{"holder": {"id": parent},
                                                           "sharePct": "70.0000"}]
    body = await api.post(UNLINK, {"input": {"childId": child, "parentId": parent}})
    assert body["data"]["accountUnlinkParent"]["sharePct"] == "70.0000"
    after = await tree(api, child)
    assert after["parent"] is None and after["shareholders"] == []
    assert await api.scalar(
        "SELECT operation FROM audit_log ORDER BY id DESC LIMIT 1") == "account.unlinkParent"
    again = await api.error(UNLINK, {"input": {"childId": child, "parentId": parent}})
    assert again["extensions"]["code"] == "NOT_FOUND"
    assert again["extensions"]["field"] == "parentId"


async def test_a_company_cannot_become_its_own_ancestor(api: Api) -> None:
    a, b, c = [await company(api, name) for name in ("甲", "乙", "丙")]
    await linked(api, b, a, 100)
    await linked(api, c, b, 100)
    before = await counts(api)
    error = (await link(api, a, c, 10))["errors"][0]
    assert error["extensions"]["code"] == "CONFLICT"
    assert error["extensions"]["field"] == "parentId"
    self_link = (await link(api, a, a, 10))["errors"][0]
    assert self_link["extensions"]["code"] == "BAD_USER_INPUT"
    assert await counts(api) == before


async def test_shares_held_in_one_company_sum_to_at_most_100(api: Api) -> None:
    child, first, second = [await company(api, name) for name in ("标的", "股东一", "股东二")]
    await linked(api, child, first, 60)
    before = await counts(api)
    error = (await link(api, child, second, 40.01))["errors"][0]
    assert error["extensions"] == {"code": "CONFLICT", "field": "sharePct",
                                   "requestId": error["extensions"]["requestId"]}
    assert await counts(api) == before
    await linked(api, child, second, 40)
    await linked(api, child, first, 60)  # restating an existing stake is not double-counted


async def test_bad_share_and_unknown_or_malformed_ids(api: Api) -> None:
    a, b = await company(api, "甲"), await company(api, "乙")
    before = await counts(api)
    for share in (0, -5, 100.5, 33.33333):
        error = (await link(api, a, b, share))["errors"][0]
        assert (error["extensions"]["code"], error["extensions"]["field"]) == (
            "BAD_USER_INPUT", "sharePct"), share
    ghost = "QWNjb3VudDowMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDA="  # Account:0000…
    error = (await link(api, ghost, b, 10))["errors"][0]
    assert (error["extensions"]["code"], error["extensions"]["field"]) == ("NOT_FOUND", "childId")
    error = (await link(api, a, ghost, 10))["errors"][0]
    assert (error["extensions"]["code"], error["extensions"]["field"]) == (
        "NOT_FOUND", "parentId")
    error = (await link(api, a, "not-an-id", 10))["errors"][0]
    assert (error["extensions"]["code"], error["extensions"]["field"]) == (
        "BAD_USER_INPUT", "parentId")
    error = (await api.post(TREE, {"id": a, "depth": 0}))["errors"][0]
    assert (error["extensions"]["code"], error["extensions"]["field"]) == (
        "BAD_USER_INPUT", "depth")
    assert await counts(api) == before


async def test_racing_links_that_would_close_a_cycle_exactly_one_wins(api: Api) -> None:
    for _ in range(5):
        a, b = await company(api, "甲"), await company(api, "乙")
        results = await asyncio.gather(link(api, b, a, 50), link(api, a, b, 50))
        codes = sorted("ok" if "errors" not in body else body["errors"][0]["extensions"]["code"]
                       for body in results)
        assert codes == ["CONFLICT", "ok"]
    assert await api.scalar("SELECT count(*) FROM account_edges") == 5
    assert await api.scalar(
        "SELECT count(*) FROM audit_log WHERE operation = 'account.linkParent'") == 5


async def test_racing_stakes_cannot_exceed_100(api: Api) -> None:
    child = await company(api, "标的")
    holders = [await company(api, f"股东{n}") for n in range(4)]
    results = await asyncio.gather(*(link(api, child, holder, 40) for holder in holders))
    assert sum("errors" not in body for body in results) == 2
    assert await api.scalar(
        "SELECT sum(share_pct) FROM account_edges WHERE target_id IS NOT NULL") == 80
