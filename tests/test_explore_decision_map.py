"""The decision-map half of /explore in headless Chromium, against the decision-map API
(contract D): the drawn committee, its edges, the score explanation, introduction paths, asOf,
the supply chain with a disrupted supplier's exposure, and restricted stubs, all compared with
what the API answers the same user. Runs once the schema has `decisionMap`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest

from tests.browser import (
    Explorer,
    _chromium,  # noqa: F401  (the `chromium` fixture)
    _tab,  # noqa: F401  (the `tab` fixture)
)
from tests.conftest import Api
from tests.factories import make_account, make_contact, new_uscc

RELATE = """mutation($input: RelationshipCreateInput!) {
  relationshipCreate(input: $input) { relationship { id } } }"""
SEAT = """mutation($input: CommitteeMemberAddInput!) {
  committeeMemberAdd(input: $input) { member { id } } }"""
DISRUPT = """mutation($input: AccountMarkDisruptedInput!) {
  accountMarkDisrupted(input: $input) { account { id disruption { reason since } } } }"""
MAP = """query($id: ID!, $asOf: Date) { account(id: $id) { decisionMap(asOf: $asOf) {
  nodes { id restricted name influence role stance explanation { fromId } }
  edges { fromId toId kind } brokers { id } gaps { id } } } }"""
PATHS = """query($to: ID!) { introductionPaths(to: $to, maxHops: 3, first: 5) {
  strength nodes { id } } }"""
LOG = """mutation($input: InteractionLogInput!) {
  interactionLog(input: $input) { interaction { id } } }"""
EXPOSURE = """query($id: ID!) { exposure(accountId: $id, maxTier: 3) { account { id } } }"""
SHAPES = {"DECISION_MAKER": "star", "TECHNICAL_EVALUATOR": "hexagon", "PROCUREMENT": "rectangle",
          "CHAMPION": "diamond"}
COLOURS = {"SUPPORTER": "#2e9d5b", "NEUTRAL": "#4f7cac", "OPPONENT": "#d1463b",
           "UNKNOWN": "#9aa3ad"}
EAST_PEOPLE = ("王振国", "李书文", "赵静怡", "孙立群")


@dataclass(frozen=True)
class Committee:
    account: str
    supplier: str
    north_account: str
    people: dict[str, str]  # name → contact id


@pytest.fixture
async def committee(api: Api) -> Committee:
    """A 华东 customer's committee (owned by sales.east) with a 华北 person (owned by
    sales.north) influencing its decision maker, sales.east knowing the champion, a
    sole-source supplier marked disrupted."""
    east, north = api.as_user("sales.east"), api.as_user("sales.north")
    account = await make_account(east, name="华东星河雷达股份有限公司")
    supplier = await make_account(east, name="苏州星河芯片有限公司", uscc=new_uscc("320500"))
    north_account = await make_account(north, name="北京星河导航技术有限公司", region="华北",
                                       uscc=new_uscc("110000"))
    people = {name: await make_contact(east, account, name=name, title=title)
              for name, title in zip(EAST_PEOPLE, ("总经理", "技术总监", "采购经理", "工程师"),
                                     strict=True)}
    people["钱卫东"] = await make_contact(north, north_account, name="钱卫东", title="总工程师")
    for name, role, stance in (("王振国", "DECISION_MAKER", "NEUTRAL"),
                               ("李书文", "TECHNICAL_EVALUATOR", "SUPPORTER"),
                               ("赵静怡", "PROCUREMENT", "OPPONENT"),
                               ("孙立群", "CHAMPION", "SUPPORTER")):
        await east.data(SEAT, {"input": {"accountId": account, "contactId": people[name],
                                         "role": role, "stance": stance}})
    await north.data(SEAT, {"input": {"accountId": north_account, "contactId": people["钱卫东"],
                                      "role": "DECISION_MAKER", "stance": "SUPPORTER"}})
    me = (await east.data("{ me { id } }"))["me"]["id"]
    recent = (date.today() - timedelta(days=30)).isoformat()
    # The admin ties people across regions; sales.east records whom they know.
    for by, kind, source, target, weight, since in (
            (api, "INFLUENCES", people["李书文"], people["王振国"], 0.8, recent),
            (api, "REPORTS_TO", people["赵静怡"], people["王振国"], None, "2020-01-01"),
            (api, "INFLUENCES", people["孙立群"], people["李书文"], 0.5, "2020-01-01"),
            (api, "INFLUENCES", people["钱卫东"], people["王振国"], 0.4, "2020-01-01"),
            (east, "KNOWS", me, people["孙立群"], 0.7, "2020-01-01")):
        await by.data(RELATE, {"input": {"kind": kind, "fromId": source, "toId": target,
                                         "weight": weight, "validFrom": since}})
    await api.data(RELATE, {"input": {"kind": "SUPPLIES", "fromId": supplier, "toId": account,
                                      "criticality": "SOLE_SOURCE", "share": "60",
                                      "products": ["惯导芯片"], "validFrom": "2020-01-01"}})
    await east.data(LOG, {"input": {
        "accountId": account, "contactIds": [people["王振国"], people["李书文"]],
        "channel": "VISIT", "direction": "OUTBOUND", "subject": "惯导方案技术交流",
        "occurredAt": f"{(date.today() - timedelta(days=3)).isoformat()}T09:30:00+08:00",
        "notes": "客户关注交付周期"}})
    await api.data(DISRUPT, {"input": {"accountId": supplier, "reason": "工厂火灾",
                                        "since": date.today().isoformat()}})
    return Committee(account, supplier, north_account, people)


async def _open(tab: Explorer, username: str, name: str, account: str) -> None:
    await tab.login(username)
    await tab.search(name)
    await tab.open_with_keyboard(account)
    await tab.until("performance.getEntriesByName('explore:first-map').length")


def _edges(edges: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return sorted((edge["fromId"], edge["toId"], edge["kind"]) for edge in edges)


async def _map_as_drawn(tab: Explorer, api: Api, account: str,
                        as_of: str | None = None) -> dict[str, Any]:
    """The API's map for the user, after checking the page drew exactly it."""
    answer: dict[str, Any] = (await api.data(MAP, {"id": account, "asOf": as_of})
                              )["account"]["decisionMap"]
    drawn = (await tab.drawn())["details"]
    assert sorted(node["id"] for node in drawn["nodes"]) == sorted(
        node["id"] for node in answer["nodes"])
    known = {node["id"] for node in answer["nodes"]}
    assert _edges(drawn["edges"]) == _edges([edge for edge in answer["edges"]
                                             if edge["fromId"] in known and edge["toId"] in known])
    return answer


async def test_committee_drawn_as_the_api_answers(tab: Explorer, api: Api,
                                                  committee: Committee) -> None:
    east = api.as_user("sales.east")
    await _open(tab, "sales.east", "星河雷达", committee.account)
    answer = await _map_as_drawn(tab, east, committee.account)
    drawn = {node["id"]: node for node in (await tab.drawn())["details"]["nodes"]}
    for node in answer["nodes"]:
        shown = drawn[node["id"]]
        assert shown["restricted"] == node["restricted"]
        if node["role"] in SHAPES:
            assert shown["shape"] == SHAPES[node["role"]]
            assert shown["colour"] == COLOURS[node["stance"]]
    # The 华北 influencer is a locked stub for sales.east: drawn, never named.
    stubs = [node["id"] for node in answer["nodes"] if node["restricted"]]
    assert stubs and all(drawn[stub]["restricted"] for stub in stubs)
    assert "钱卫东" not in await tab.text()
    assert {node["id"] for node in drawn.values() if node["broker"]} == {
        broker["id"] for broker in answer["brokers"]}
    assert {node["id"] for node in drawn.values() if node["gap"]} == {
        gap["id"] for gap in answer["gaps"]}
    # Node size is the influence score, on the page's scale.
    for node in answer["nodes"]:
        if node["influence"] is not None and not node["restricted"]:
            assert drawn[node["id"]]["size"] == math.floor(
                22 + 48 * min(1.0, max(0.0, node["influence"])) + 0.5)
    decider = committee.people["王振国"]
    await tab.until("document.querySelectorAll('#interactions li').length")
    assert "拜访 惯导方案技术交流" in await tab.page.inner_text("#interactions")
    await tab.screenshot("decision-map-laptop")

    # The decision maker's score explained, then the ways to reach them.
    await tab.page.click(f"#people button[data-id='{decider}']")
    rows = await tab.page.locator("#detail .explain li").count()
    explained = next(node for node in answer["nodes"] if node["id"] == decider)
    assert rows == len(explained["explanation"])
    await tab.page.click("#find-paths")
    paths = (await east.data(PATHS, {"to": decider}))["introductionPaths"]
    assert paths, "sales.east knows the champion, who influences the evaluator"
    await tab.until("document.querySelectorAll('#paths li').length")
    assert await tab.page.locator("#paths li").count() == len(paths)
    assert (await tab.drawn())["details"]["path"] == sorted(
        node["id"] for node in paths[0]["nodes"])
    await tab.finish("decision-map-path")


async def test_as_of_redraws_the_map_as_it_was(tab: Explorer, api: Api,
                                               committee: Committee) -> None:
    east = api.as_user("sales.east")
    await _open(tab, "sales.east", "星河雷达", committee.account)
    await tab.page.focus("#asof")
    for _ in range(60):
        await tab.page.keyboard.press("ArrowLeft")
    as_of = await tab.until("window.explorer.state.asOf")
    assert as_of == (date.today() - timedelta(days=60)).isoformat()
    await tab.until(f"window.explorer.state.map && window.explorer.state.map.asOf === '{as_of}'")
    answer = await _map_as_drawn(tab, east, committee.account, as_of)
    recent = (committee.people["李书文"], committee.people["王振国"], "INFLUENCES")
    assert recent not in _edges(answer["edges"])
    await tab.finish("decision-map-60-days-ago")


async def test_supply_chain_and_exposure_of_a_disrupted_supplier(
        tab: Explorer, api: Api, committee: Committee) -> None:
    east = api.as_user("sales.east")
    await _open(tab, "sales.east", "星河雷达", committee.account)
    await tab.until("document.querySelectorAll('#exposure tbody tr').length")
    drawn = await tab.drawn()
    assert {committee.account, committee.supplier} <= set(drawn["supply"])
    exposure = (await east.data(EXPOSURE, {"id": committee.supplier}))["exposure"]
    rows = await tab.page.evaluate(
        "[...document.querySelectorAll('#exposure tbody tr')].map((row) => row.dataset.id)")
    assert rows == [item["account"]["id"] for item in exposure]
    assert committee.account in rows
    assert "工厂火灾" in await tab.text()
    await tab.finish("supply-chain-exposure")


async def test_other_region_sees_only_its_own_map(tab: Explorer, api: Api,
                                                  committee: Committee) -> None:
    north = api.as_user("sales.north")
    await _open(tab, "sales.north", "星河导航", committee.north_account)
    answer = await _map_as_drawn(tab, north, committee.north_account)
    assert committee.people["钱卫东"] in {node["id"] for node in answer["nodes"]}
    text = await tab.text()
    for name in (*EAST_PEOPLE, "华东星河雷达股份有限公司", "苏州星河芯片有限公司"):
        assert name not in text
    drawn = {node["id"]: node for node in (await tab.drawn())["details"]["nodes"]}
    assert {node_id for node_id, node in drawn.items() if node["restricted"]} == {
        node["id"] for node in answer["nodes"] if node["restricted"]}
    await tab.finish("decision-map-sales-north")
