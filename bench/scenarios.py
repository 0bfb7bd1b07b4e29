"""The measured GraphQL operations and the variables that vary them from request to request."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.dataset import SEARCH_TERMS
from resolvers.ids import to_global_id
from services.demo_data import CITIES

Data = dict[str, Any]

SEARCH = """
query Search($region: String!, $term: String!) {
  accounts(filter: {region: $region, nameContains: $term}, first: 20) {
    totalCount
    edges { node { id name region } }
  }
}"""

# `... on Account`: a member outside the reader's scope is a restricted AccountRef stub.
GROUP_TREE = """
query Tree($id: ID!) {
  account(id: $id) {
    groupTree(depth: 5) {
      ancestors { account { id ... on Account { name } } depth effectiveOwnership }
      descendants { account { id ... on Account { name } } depth effectiveOwnership }
    }
  }
}"""

PAGE = """
query Page($first: Int!, $after: String, $region: String) {
  accounts(first: $first, after: $after, filter: {region: $region}) {
    edges { node { id name contacts(first: 5) { edges { node { name phone } } } } }
  }
}"""

CURSORS = """
query Cursors($term: String!) {
  accounts(filter: {nameContains: $term}, first: 100) { edges { cursor } }
}"""

REGIONS = sorted({city.region for city in CITIES})


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    query: str
    variables: Callable[[int], Data]  # request number → variables
    observe: Callable[[Data], int]  # a size figure of the answer, to show the work is real
    observed: str  # what `observe` counts
    path: str | None = None  # a GET of this path (formatted with the variables), not GraphQL


def search(rng: random.Random, count: int) -> Scenario:
    terms = [rng.choice(SEARCH_TERMS) for _ in range(count)]
    return Scenario(
        "a", "accounts(region 华东, nameContains 2 chars, first 20) + totalCount", SEARCH,
        lambda n: {"region": "华东", "term": terms[n % count]},
        lambda data: int(data["accounts"]["totalCount"]), "totalCount",
    )


def _tree_size(data: Data) -> int:
    tree = data["account"]["groupTree"]
    return len(tree["ancestors"]) + len(tree["descendants"])


def group_tree(rng: random.Random, grouped: list[str], count: int) -> Scenario:
    ids = [to_global_id("Account", account_id) for account_id in rng.sample(grouped, count)]
    return Scenario(
        "b", "account(id).groupTree(depth 5), ancestors + descendants", GROUP_TREE,
        lambda n: {"id": ids[n % count]}, _tree_size, "tree members",
    )


def _contacts_in_page(data: Data) -> int:
    return sum(len(edge["node"]["contacts"]["edges"]) for edge in data["accounts"]["edges"])


def page(rng: random.Random, cursors: list[tuple[str, str]], count: int,
         first: int) -> Scenario:
    """Pages after cursors spread over the whole name order; every other page is filtered to
    the region of the cursor's account (so it is never empty)."""
    picked = [rng.choice(cursors) for _ in range(count)]

    def variables(n: int) -> Data:
        after, region = picked[n % count]
        return {"first": first, "after": after, "region": region if n % 2 else None}

    return Scenario(
        f"c{first}", f"accounts(first {first}, after) + contacts(first 5) each", PAGE,
        variables, _contacts_in_page, "contacts",
    )


def cursor_queries() -> list[tuple[Data, str]]:
    """Variables (and region) of the requests whose cursors seed scenario (c): names start
    with the city, so the first hundred of each city lie all over the name order."""
    return [({"term": city.name}, city.region) for city in CITIES]


def cursors_of(data: Data, region: str) -> list[tuple[str, str]]:
    return [(str(edge["cursor"]), region) for edge in data["accounts"]["edges"][::10]]
