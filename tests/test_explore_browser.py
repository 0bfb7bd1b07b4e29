"""The /explore page in headless Chromium against the real app and stores: a salesperson logs in
through the page, searches, opens an account with the keyboard and sees exactly what the API
answers them; another region's salesperson sees none of it. Screenshots go to
test-artifacts/explore/."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.browser import (
    TABLET,
    TABLET_LANDSCAPE,
    Explorer,
    _chromium,  # noqa: F401  (the `chromium` fixture)
    _tab,  # noqa: F401  (the `tab` fixture)
    tree_of,
)
from tests.conftest import Api
from tests.factories import make_account, make_contact, new_uscc

LINK = """mutation($input: AccountLinkParentInput!) {
  accountLinkParent(input: $input) { sharePct } }"""
REF = "id restricted ... on Account { name }"
ACCOUNT = f"""query($id: ID!) {{ account(id: $id) {{ id name
  groupTree(depth: 4) {{ ancestors {{ depth effectiveOwnership account {{ {REF} }} }}
                        descendants {{ depth effectiveOwnership account {{ {REF} }} }} }}
  contacts(first: 100) {{ edges {{ node {{ id name }} }} }} }} }}"""
SEARCH = """query($q: String!) { accounts(filter: {nameContains: $q}, first: 20) {
  edges { node { id name } } } }"""


@dataclass(frozen=True)
class Group:
    """华东精工集团: a 华东 holding owned by sales.east with a 华东 subsidiary, and a 华北 branch
    (owned by sales.north) that the holding controls."""

    holding: str
    east: str
    north: str
    north_sub: str
    names: dict[str, str]


NAMES = {"holding": "华东精工控股集团有限公司", "east": "上海精工测控技术有限公司",
         "north": "北京精工导航技术有限公司", "north_sub": "天津精工惯导设备有限公司"}


@pytest.fixture
async def group(api: Api) -> Group:
    east, north = api.as_user("sales.east"), api.as_user("sales.north")
    ids = {"holding": await make_account(east, name=NAMES["holding"]),
           "east": await make_account(east, name=NAMES["east"]),
           "north": await make_account(north, name=NAMES["north"], region="华北",
                                       uscc=new_uscc("110000")),
           "north_sub": await make_account(north, name=NAMES["north_sub"], region="华北",
                                           uscc=new_uscc("120000"))}
    for child, parent, share in (("east", "holding", "60"), ("north", "holding", "51"),
                                 ("north_sub", "north", "80")):
        await api.data(LINK, {"input": {"childId": ids[child], "parentId": ids[parent],
                                        "sharePct": share}})
    for name, title in (("周建华", "总经理"), ("吴晓琳", "采购部长")):
        await make_contact(east, ids["holding"], name=name, title=title)
    return Group(**ids, names=NAMES)


async def _open(tab: Explorer, user: Api, account: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Opens the account from the search results by keyboard; the group tree drawn is the one
    the API answers the same user. Returns the answer and what the page drew."""
    await tab.open_with_keyboard(account)
    answer: dict[str, Any] = (await user.data(ACCOUNT, {"id": account}))["account"]
    drawn = await tab.drawn()
    assert [{key: row[key] for key in ("id", "restricted", "name")}
            for row in drawn["tree"]] == tree_of(answer)
    return answer, drawn


async def test_page_and_its_script_are_served_by_the_app(server: str) -> None:
    async with httpx.AsyncClient(base_url=server) as client:
        redirect = await client.get("/explore")
        page = await client.get("/explore/")
        script = await client.get("/explore/vendor/cytoscape.esm.min.mjs")
        main = await client.get("/explore/js/main.js")
    assert redirect.status_code == 307 and redirect.headers["location"].endswith("/explore/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "connect-src 'self'" in policy
    assert "default-src 'none'" in policy
    # Every script, style and link of the page is relative: it loads from this app only.
    urls = re.findall(r'(?:src|href)="([^"]*)"', page.text)
    assert "js/main.js" in urls and "explore.css" in urls
    assert [url for url in urls if re.match(r"[a-z]+:(?!,)|//", url)] == []
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert main.status_code == 200 and main.headers["content-type"].startswith("text/javascript")


async def test_salesperson_explores_a_group(tab: Explorer, api: Api, group: Group) -> None:
    east = api.as_user("sales.east")
    await tab.login("sales.east")
    await tab.tab_to("search")
    found = await tab.search("精工")
    expected = (await east.data(SEARCH, {"q": "精工"}))["accounts"]["edges"]
    assert [item["id"] for item in found] == [edge["node"]["id"] for edge in expected]
    assert {item["id"] for item in found} == {group.holding, group.east}

    answer, drawn = await _open(tab, east, group.holding)
    assert [row["ownership"] for row in drawn["tree"][1:]] == [
        item["effectiveOwnership"] for item in answer["groupTree"]["descendants"]]
    assert {row["id"]: (row["restricted"], row["ownership"]) for row in drawn["tree"]} == {
        group.holding: (False, None), group.east: (False, "60.000000"),
        group.north: (True, "51.000000"), group.north_sub: (True, "40.800000")}
    assert await tab.page.locator("#tree .member.restricted .icon").count() == 2
    text = await tab.text()
    assert NAMES["north"] not in text and NAMES["north_sub"] not in text
    people = await tab.page.evaluate(
        "[...document.querySelectorAll('#people button')].map((b) => b.dataset.id)")
    assert sorted(people) == sorted(edge["node"]["id"]
                                    for edge in answer["contacts"]["edges"])
    assert "explore:tree-drawn" in await tab.marks()
    assert await tab.unnamed_controls() == []
    await tab.screenshot("sales-east-laptop")

    # The asOf slider, by keyboard: a week back, and the choice is kept in the address.
    await tab.page.focus("#asof")
    for _ in range(7):
        await tab.page.keyboard.press("ArrowLeft")
    as_of = await tab.until("window.explorer.state.asOf")
    assert await tab.page.inner_text("#asof-value") == as_of
    await tab.until(f"location.hash.includes('asOf={as_of}')")

    fits = "document.documentElement.scrollWidth <= window.innerWidth"
    await tab.page.set_viewport_size(TABLET)
    assert await tab.page.evaluate(fits)
    await tab.screenshot("sales-east-tablet")
    await tab.page.set_viewport_size(TABLET_LANDSCAPE)
    assert await tab.page.evaluate(fits)
    await tab.finish("sales-east-tablet-landscape")


async def test_other_regions_salesperson_sees_no_foreign_nodes(
        tab: Explorer, api: Api, group: Group) -> None:
    north = api.as_user("sales.north")
    await tab.login("sales.north")
    found = await tab.search("精工")
    assert {item["id"] for item in found} == {group.north, group.north_sub}
    _, drawn = await _open(tab, north, group.north)
    assert [(row["id"], row["restricted"]) for row in drawn["tree"]] == [
        (group.holding, True), (group.north, False), (group.north_sub, False)]
    text = await tab.text()
    for name in (NAMES["holding"], NAMES["east"], "周建华", "吴晓琳"):
        assert name not in text
    stub = tab.page.locator("#tree .member.restricted")
    assert await stub.locator(".locked").inner_text() == "受限（无权查看）"
    assert await stub.locator(".share").inner_text() == "持有本公司 51%"
    await tab.finish("sales-north-laptop")


async def test_refused_login_and_expired_session_are_shown_on_the_page(
        tab: Explorer, api: Api) -> None:
    await tab.page.fill("#username", "sales.east")
    await tab.page.fill("#password", "wrong password")
    await tab.page.press("#password", "Enter")
    message = await tab.until("document.getElementById('status').textContent")
    assert await tab.page.is_visible("#login-view") and message
    await tab.login("sales.east")
    # An access token the server no longer accepts is exchanged once for a new pair…
    await tab.page.evaluate("sessionStorage.setItem('crm.explore.token', 'not-a-token')")
    assert await tab.search("精工") == []
    assert await tab.page.evaluate("sessionStorage.getItem('crm.explore.token')") != "not-a-token"
    # …and when the refresh token is no good either, the user is back at the login form.
    await tab.page.evaluate("sessionStorage.setItem('crm.explore.token', 'not-a-token');"
                            "sessionStorage.setItem('crm.explore.refresh', 'not-a-token')")
    await tab.page.fill("#search", "精工")
    await tab.page.press("#search", "Enter")
    await tab.until("!document.getElementById('login-view').hidden")
    assert await tab.page.inner_text("#status") == "登录已失效，请重新登录。"
    await tab.finish("session-ended")

