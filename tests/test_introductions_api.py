"""introductionPaths over HTTP: ranked by the product of strengths, node by node, bounded
hops, asOf, and never through a person the caller may not see."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from services import clock
from tests.conftest import Api
from tests.factories import assert_error, make_account, make_contact
from tests.test_relationships_api import me, relate

PATHS = """
query($to: ID!, $from: ID, $maxHops: Int, $first: Int, $asOf: Date) {
  introductionPaths(to: $to, from: $from, maxHops: $maxHops, first: $first, asOf: $asOf) {
    strength nodes { id kind name } edges { fromId toId kind strength }
  }
}
"""
SINCE = (clock.today() - timedelta(days=30)).isoformat()


async def paths(api: Api, to: str, **arguments: Any) -> list[dict[str, Any]]:
    await api.projector.drain()
    found: list[dict[str, Any]] = (await api.data(PATHS, {"to": to, **arguments})
                                   )["introductionPaths"]
    return found


async def test_paths_are_ranked_by_the_product_of_strengths(api: Api) -> None:
    account = await make_account(api)
    a, b = await make_contact(api, account, name="甲"), await make_contact(api, account, name="乙")
    c, target = await make_contact(api, account, name="丙"), await make_contact(
        api, account, name="李总")
    staff = await me(api)
    await relate(api, kind="KNOWS", fromId=staff, toId=a, weight=0.8, validFrom=SINCE)
    await relate(api, kind="INFLUENCES", fromId=a, toId=b, weight=0.5, validFrom=SINCE)
    await relate(api, kind="REPORTS_TO", fromId=b, toId=target, validFrom=SINCE)
    await relate(api, kind="KNOWS", fromId=staff, toId=c, weight=0.9, validFrom=SINCE)
    await relate(api, kind="INFLUENCES", fromId=target, toId=c, weight=0.3, validFrom=SINCE)
    found = await paths(api, target)
    assert [(p["strength"], [n["name"] for n in p["nodes"]]) for p in found] == [
        (0.27, ["系统管理员", "丙", "李总"]), (0.2, ["系统管理员", "甲", "乙", "李总"])]
    assert found[1]["nodes"][0] == {"id": staff, "kind": "STAFF", "name": "系统管理员"}
    assert found[1]["edges"] == [
        {"fromId": staff, "toId": a, "kind": "KNOWS", "strength": 0.8},
        {"fromId": a, "toId": b, "kind": "INFLUENCES", "strength": 0.5},
        {"fromId": b, "toId": target, "kind": "REPORTS_TO", "strength": 0.5}]
    assert [len(p["nodes"]) for p in await paths(api, target, maxHops=2)] == [3]
    assert len(await paths(api, target, first=1)) == 1
    before = (clock.today() - timedelta(days=31)).isoformat()
    assert await paths(api, target, asOf=before) == []
    for arguments, field in (({"maxHops": 5}, "maxHops"), ({"maxHops": 0}, "maxHops"),
                             ({"first": 11}, "first")):
        error = await api.error(PATHS, {"to": target, **arguments})
        assert_error(error, "BAD_USER_INPUT", field)


async def test_no_path_passes_through_a_person_the_caller_cannot_see(api: Api) -> None:
    east, north = api.as_user("sales.east"), api.as_user("sales.north")
    account = await make_account(east)
    friend, target = await make_contact(east, account, name="甲"), await make_contact(
        east, account, name="李总")
    hidden_account = await make_account(north, name="北方重工", region="华北")
    hidden = await make_contact(north, hidden_account, name="周秘密")
    seller = await me(east)
    await relate(api, kind="KNOWS", fromId=seller, toId=friend, weight=0.5, validFrom=SINCE)
    await relate(api, kind="INFLUENCES", fromId=friend, toId=target, weight=0.5,
                 validFrom=SINCE)
    await relate(api, kind="KNOWS", fromId=seller, toId=hidden, weight=0.9, validFrom=SINCE)
    await relate(api, kind="INFLUENCES", fromId=hidden, toId=target, weight=0.9,
                 validFrom=SINCE)
    seen_by_admin = await paths(api, target, **{"from": seller})
    assert [p["strength"] for p in seen_by_admin] == [0.81, 0.25]
    seen_by_seller = await paths(east, target)
    assert [p["strength"] for p in seen_by_seller] == [0.25]
    assert hidden not in str(seen_by_seller) and "周秘密" not in str(seen_by_seller)
    refused = await north.error(PATHS, {"to": target})
    assert_error(refused, "NOT_FOUND", "to")
