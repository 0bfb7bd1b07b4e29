"""Substring search of account names through the character/bigram index (migration 0008):
exactly the right accounts for 1-, 2- and longer substrings at any position, any case, and the
right totalCount for readers whose scope or clearance hides some of them."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select, text

from relational.models import Account
from relational.repositories import accounts as repo
from tests.conftest import Api
from tests.factories import make_account

SEARCH = """
query($term: String!) {
  accounts(filter: {nameContains: $term}, first: 100) {
    totalCount
    edges { node { name } }
  }
}"""

# name, region, classification
WORLD = (
    ("电子科技", "华东", "INTERNAL"),  # the word at the start
    ("上海微电子装备", "华东", "INTERNAL"),  # in the middle
    ("北京光电子", "华北", "INTERNAL"),  # at the end
    ("深圳电子", "华南", "INTERNAL"),  # outside service's regions
    ("南京电子所", "华东", "SECRET"),  # above service's and finance's clearance
    ("子电公司", "华东", "INTERNAL"),  # both characters, neither bigram order
    ("电器子公司", "华北", "INTERNAL"),  # both characters, apart
    ("电子子科技", "华北", "INTERNAL"),  # every bigram of 电子科, not the substring
    ("Alpha Tech", "华东", "INTERNAL"),
    ("BETA", "华北", "INTERNAL"),
    ("ab", "华东", "INTERNAL"),  # the whole name
    ("100% 电", "华东", "INTERNAL"),
)


@pytest.fixture
async def world(api: Api) -> None:
    for name, region, classification in WORLD:
        await make_account(api, name=name, region=region, classification=classification)


async def _search(api: Api, term: str) -> tuple[list[str], int]:
    found: dict[str, Any] = (await api.data(SEARCH, {"term": term}))["accounts"]
    return sorted(edge["node"]["name"] for edge in found["edges"]), found["totalCount"]


def _expected(term: str, *, regions: tuple[str, ...] | None = None,
              cleared: bool = True) -> tuple[list[str], int]:
    names = sorted(name for name, region, classification in WORLD
                   if term.lower() in name.lower()
                   and (regions is None or region in regions)
                   and (cleared or classification != "SECRET"))
    return names, len(names)


TERMS = ("电子", "电", "子", "子电", "电子科", "电子子科", "a", "A", "B", "ab", "AB", "eta",
         "TECH", "h t", "%", "0%", "% 电", "技", "无", "电子科技x")


async def test_admin_finds_exactly_the_names_containing_the_term(api: Api, world: None) -> None:
    for term in TERMS:
        assert await _search(api, term) == _expected(term), term
    assert await _search(api, "电子") == (
        ["上海微电子装备", "北京光电子", "南京电子所", "深圳电子", "电子子科技", "电子科技"], 6)
    assert await _search(api, "电子科") == (["电子科技"], 1)
    assert await _search(api, "a") == (["Alpha Tech", "BETA", "ab"], 3)


async def test_scope_and_clearance_apply_to_the_page_and_the_total(api: Api,
                                                                   world: None) -> None:
    service = api.as_user("service")  # region scope 华东 + 华北, clearance INTERNAL
    finance = api.as_user("finance")  # everything, clearance INTERNAL
    for term in TERMS:
        assert await _search(service, term) == _expected(
            term, regions=("华东", "华北"), cleared=False), term
        assert await _search(finance, term) == _expected(term, cleared=False), term
    assert await _search(service, "电子") == (
        ["上海微电子装备", "北京光电子", "电子子科技", "电子科技"], 4)
    assert await _search(api.as_user("sales.north"), "电子") == ([], 0)  # owns none of them


@pytest.mark.parametrize("term", ["电", "电子", "电子科"])
async def test_the_gram_index_serves_the_search_and_its_count(api: Api, world: None,
                                                              term: str) -> None:
    """With sequential scans priced out (the table is tiny here), the planner can still answer
    both the page and the count through ix_accounts_name_grams."""
    condition = repo.name_contains(term)
    statements = [select(Account.id).where(condition),
                  select(func.count()).select_from(Account).where(condition)]
    async with api.stores.read() as session:
        await session.execute(text("SET LOCAL enable_seqscan = off"))
        for statement in statements:
            compiled = statement.compile(compile_kwargs={"literal_binds": True})
            plan = "\n".join(row[0] for row in await session.execute(
                text(f"EXPLAIN {compiled}")))
            assert "ix_accounts_name_grams" in plan, plan
