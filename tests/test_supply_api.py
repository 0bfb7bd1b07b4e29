"""Supply chains and exposure over HTTP: SUPPLIES edges made with relationshipCreate, tiers
both ways, exposure numbers (DebtRank, as computed by hand in tests/test_supply_risk.py),
asOf, and refusals that name their field."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import Api
from tests.factories import assert_error, global_id, make_account, raw_id

SUPPLY = """mutation($input: RelationshipCreateInput!) { relationshipCreate(input: $input) {
  relationship { id } } }"""
CHAIN = """query($id: ID!, $direction: SupplyDirection!, $depth: Int, $asOf: Date) {
  account(id: $id) { supplyChain(direction: $direction, depth: $depth, asOf: $asOf) {
    account { id restricted ... on Account { name } } tier fromId toId criticality share
    products } } }"""
EXPOSURE = """query($id: ID!, $maxTier: Int, $asOf: Date) {
  exposure(accountId: $id, maxTier: $maxTier, asOf: $asOf) {
    account { id restricted ... on Account { name } } tier score path { id restricted } } }"""


async def supplies(api: Api, supplier: str, buyer: str, criticality: str,
                   share: str | None, **fields: Any) -> str:
    data = await api.data(SUPPLY, {"input": {
        "kind": "SUPPLIES", "fromId": supplier, "toId": buyer, "criticality": criticality,
        "share": share, "products": fields.pop("products", ["钛合金棒材"]),
        "validFrom": fields.pop("validFrom", "2025-01-01"), **fields}})
    relationship_id: str = data["relationshipCreate"]["relationship"]["id"]
    return relationship_id


@dataclass(frozen=True)
class Web:
    """S supplies A (HIGH, 40 %) and B (SOLE_SOURCE, 100 %); A and B supply C (MEDIUM 50 %,
    LOW 20 %); C supplies D (HIGH, share unknown); D supplies S (LOW, 10 %)."""

    s: str
    a: str
    b: str
    c: str
    d: str


async def make_web(api: Api, owner: Api | None = None) -> Web:
    maker = owner or api
    s, a, b, c, d = [await make_account(maker, name=f"供应网{name}公司")
                     for name in ("S", "A", "B", "C", "D")]
    for supplier, buyer, criticality, share in ((s, a, "HIGH", "40"),
                                                (s, b, "SOLE_SOURCE", "100"),
                                                (a, c, "MEDIUM", "50"), (b, c, "LOW", "20"),
                                                (c, d, "HIGH", None), (d, s, "LOW", "10")):
        await supplies(api, supplier, buyer, criticality, share)
    return Web(s, a, b, c, d)


@pytest.fixture
async def web(api: Api) -> Web:
    return await make_web(api)


async def chain(api: Api, account: str, direction: str, depth: int | None = None,
                as_of: str | None = None) -> list[tuple[str, int, str, str, str, str | None]]:
    data = await api.data(CHAIN, {"id": account, "direction": direction, "depth": depth,
                                  "asOf": as_of})
    return [(link["account"]["id"], link["tier"], link["fromId"], link["toId"],
             link["criticality"], link["share"]) for link in data["account"]["supplyChain"]]


def ordered(links: list[tuple[str, int, str, str, str, str | None]]) -> list[Any]:
    """The order the API answers in: tier, the far end's id, the near end's id."""
    return sorted(links, key=lambda link: (link[1], raw_id(link[0]),
                                           raw_id(link[3] if link[0] == link[2] else link[2])))


async def test_supply_chain_upstream_and_downstream_by_tier(api: Api, web: Web) -> None:
    assert await chain(api, web.d, "UPSTREAM") == ordered([
        (web.c, 1, web.c, web.d, "HIGH", None),
        (web.a, 2, web.a, web.c, "MEDIUM", "50.00"), (web.b, 2, web.b, web.c, "LOW", "20.00"),
        (web.s, 3, web.s, web.a, "HIGH", "40.00"),
        (web.s, 3, web.s, web.b, "SOLE_SOURCE", "100.00")])
    assert await chain(api, web.d, "UPSTREAM", depth=1) == [
        (web.c, 1, web.c, web.d, "HIGH", None)]
    # Downstream the cycle's last edge (D supplies S) leads back to the root: not a link.
    assert await chain(api, web.s, "DOWNSTREAM", depth=5) == ordered([
        (web.a, 1, web.s, web.a, "HIGH", "40.00"),
        (web.b, 1, web.s, web.b, "SOLE_SOURCE", "100.00"),
        (web.c, 2, web.a, web.c, "MEDIUM", "50.00"), (web.c, 2, web.b, web.c, "LOW", "20.00"),
        (web.d, 3, web.c, web.d, "HIGH", None)])
    data = await api.data(CHAIN, {"id": web.c, "direction": "UPSTREAM", "depth": 1})
    assert sorted(data["account"]["supplyChain"], key=lambda link: raw_id(link["fromId"])) \
        == sorted([
            {"account": {"id": web.a, "restricted": False, "name": "供应网A公司"}, "tier": 1,
             "fromId": web.a, "toId": web.c, "criticality": "MEDIUM", "share": "50.00",
             "products": ["钛合金棒材"]},
            {"account": {"id": web.b, "restricted": False, "name": "供应网B公司"}, "tier": 1,
             "fromId": web.b, "toId": web.c, "criticality": "LOW", "share": "20.00",
             "products": ["钛合金棒材"]}], key=lambda link: raw_id(str(link["fromId"])))


async def test_exposure_scores_tiers_and_paths(api: Api, web: Web) -> None:
    data = await api.data(EXPOSURE, {"id": web.s, "maxTier": 5})

    def stub(account: str) -> dict[str, Any]:
        return {"id": account, "restricted": False}

    found = [(item["account"]["id"], item["tier"], item["score"], item["path"])
             for item in data["exposure"]]
    # A = .75 × .4; B = 1 × 1; C = .3 × (.5 × .5) + 1 × (.25 × .2); D = C × .75 × 1.
    assert found == [
        (web.b, 1, 1.0, [stub(web.s), stub(web.b)]),
        (web.a, 1, pytest.approx(0.3), [stub(web.s), stub(web.a)]),
        (web.c, 2, pytest.approx(0.125), [stub(web.s), stub(web.a), stub(web.c)]),
        (web.d, 3, pytest.approx(0.09375), [stub(web.s), stub(web.a), stub(web.c), stub(web.d)]),
    ]
    assert data["exposure"][0]["account"]["name"] == "供应网B公司"
    shallow = await api.data(EXPOSURE, {"id": web.s, "maxTier": 2})
    assert [item["account"]["id"] for item in shallow["exposure"]] == [web.b, web.a, web.c]
    default = await api.data(EXPOSURE, {"id": web.s})  # maxTier 3
    assert len(default["exposure"]) == 4
    assert (await api.data(EXPOSURE, {"id": web.d, "maxTier": 1}))["exposure"] == [
        {"account": {"id": web.s, "restricted": False, "name": "供应网S公司"}, "tier": 1,
         "score": pytest.approx(0.025), "path": [stub(web.d), stub(web.s)]}]


async def test_as_of_shows_the_web_as_it_was(api: Api, web: Web) -> None:
    # E supplied C in the first half of 2025 only, and sole-sourced A from 2030.
    e = await make_account(api, name="供应网E公司")
    await supplies(api, e, web.c, "SOLE_SOURCE", "30", validFrom="2025-01-01",
                   validTo="2025-06-30")
    await supplies(api, e, web.a, "SOLE_SOURCE", "100", validFrom="2030-01-01")
    assert [link[0] for link in await chain(api, web.c, "UPSTREAM", depth=1)] == \
        sorted([web.a, web.b], key=raw_id)
    assert [link[0] for link in await chain(api, web.c, "UPSTREAM", depth=1,
                                            as_of="2025-06-30")] == \
        sorted([web.a, web.b, e], key=raw_id)
    assert await chain(api, e, "DOWNSTREAM", as_of="2025-07-01") == []
    exposed = await api.data(EXPOSURE, {"id": e, "asOf": "2025-03-01"})
    assert [(item["account"]["id"], item["tier"], item["score"])
            for item in exposed["exposure"]] == [
        (web.c, 1, pytest.approx(0.3)), (web.d, 2, pytest.approx(0.225)),
        (web.s, 3, pytest.approx(0.225 * 0.025))]
    later = await api.data(EXPOSURE, {"id": e, "asOf": "2030-01-01", "maxTier": 1})
    assert later["exposure"] == [{"account": {"id": web.a, "restricted": False,
                                              "name": "供应网A公司"}, "tier": 1, "score": 1.0,
                                  "path": [{"id": e, "restricted": False},
                                           {"id": web.a, "restricted": False}]}]
    # Nothing before the web existed.
    assert (await api.data(EXPOSURE, {"id": web.s, "asOf": "2024-12-31"}))["exposure"] == []


async def test_bad_depth_tier_and_account_name_the_field(api: Api, web: Web) -> None:
    for depth in (0, 6, -1):
        body = await api.post(CHAIN, {"id": web.s, "direction": "UPSTREAM", "depth": depth})
        assert body["data"] == {"account": None}
        assert_error(body["errors"][0], "BAD_USER_INPUT", "depth")
    for tier in (0, 6):
        assert_error(await api.error(EXPOSURE, {"id": web.s, "maxTier": tier}),
                     "BAD_USER_INPUT", "maxTier")
    missing = global_id("Account", "00000000-0000-4000-8000-000000000009")
    assert_error(await api.error(EXPOSURE, {"id": missing}), "NOT_FOUND", "accountId")
    assert_error(await api.error(EXPOSURE, {"id": global_id("Contact", raw_id(web.s))}),
                 "NOT_FOUND", "accountId")
    assert_error(await api.error(EXPOSURE, {"id": "zz"}), "BAD_USER_INPUT", "accountId")


async def test_exposure_of_an_account_out_of_scope_is_not_found_and_audited(api: Api) -> None:
    east = await make_web(api, api.as_user("sales.east"))
    north = api.as_user("sales.north")
    assert_error(await north.error(EXPOSURE, {"id": east.s}), "NOT_FOUND", "accountId")
    denied = await api.scalar(
        "SELECT json_build_array(operation, target_ids, actor, after) FROM audit_log "
        "ORDER BY id DESC LIMIT 1")
    assert denied == ["denied", [raw_id(east.s)], "sales.north",
                      {"operation": "account.read", "reason": "outOfScope"}]
