"""Round trips per request must not grow with the number of items of any list field
(DataLoaders, batched Cypher): each test reads a list field with few and with many items and
gets the same number of SQL statements and Cypher round trips, pinned and explained."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from graphql import (
    InterfaceTypeDefinitionNode,
    ListTypeNode,
    NamedTypeNode,
    NonNullTypeNode,
    ObjectTypeDefinitionNode,
    TypeNode,
    UnionTypeDefinitionNode,
    parse,
)

from graph.engine import RoundTrips
from schema.root import SDL_PATH
from tests.conftest import Api
from tests.factories import Statements, make_account, make_contact, recording
from tests.test_groups_api import company, linked

# Every list field of the SDL with a test below (the guard at the end keeps this complete).
COVERED = {
    "Query.accounts", "Query.contacts", "Query.auditTrail", "Query.apiTokens",
    "Query.departments", "Account.contacts", "Account.shareholders", "GroupTree.ancestors",
    "GroupTree.descendants",
}

PAGE = """
query($first: Int!) {
  accounts(first: $first, orderBy: {field: NAME}) {
    totalCount
    edges { node {
      name parent { id ... on Account { name } } ultimateParent { id }
      contacts(first: 3) { totalCount edges { node { name phone } } }
    } }
  }
}
"""
ACCOUNT_CONTACTS = """
query($id: ID!, $first: Int!) {
  account(id: $id) { contacts(first: $first) { totalCount edges { node { name title phone } } } }
}
"""
CONTACT_SEARCH = """
query($first: Int!) {
  contacts(filter: {phone: "13900139000"}, first: $first) {
    totalCount edges { node { name phone account { name } } }
  }
}
"""
SHAREHOLDERS = """
query($id: ID!) {
  account(id: $id) { shareholders { sharePct holder { id ... on Account { name } } } }
}
"""
GROUP_TREE = """
query($id: ID!) {
  account(id: $id) { groupTree(depth: 2) {
    ancestors { depth effectiveOwnership account { id ... on Account { name } } }
    descendants { depth effectiveOwnership account { id ... on Account { name } } }
  } }
}
"""
GROUP_PAGE = """
query($first: Int!) {
  accounts(first: $first, filter: {nameContains: "成员"}, orderBy: {field: NAME}) {
    edges { node {
      shareholders { sharePct holder { id ... on Account { name } } }
      groupTree { ancestors { account { id ... on Account { name } } }
                  descendants { account { id ... on Account { name } } } }
    } }
  }
}
"""
AUDIT_TRAIL = """
query($first: Int!) {
  auditTrail(first: $first) { totalCount edges { node {
    seq at actor { username } operation targetIds fields before after redacted ip requestId
  } } }
}
"""
API_TOKENS = "{ apiTokens { name prefix permissions createdAt lastUsedAt revokedAt } }"
DEPARTMENTS = "{ departments { id name parentId } }"
CREATE_TOKEN = """mutation($name: String!) { apiTokenCreate(input: {name: $name,
  permissions: ["account:read"]}) { secret } }"""
CREATE_DEPARTMENT = """mutation($name: String!) { departmentCreate(input: {name: $name}) {
  department { id } } }"""


@dataclass(frozen=True)
class Cost:
    data: dict[str, Any]
    sql: list[str]
    cypher: int


@pytest.fixture
def statements() -> Iterator[Statements]:
    with recording() as recorder:
        yield recorder


async def cost(api: Api, statements: Statements, query: str, **variables: Any) -> Cost:
    # Projecting earlier writes is Cypher too (and the counter is process-wide): finish it first.
    await api.projector.drain()
    start, cypher = len(statements.seen), RoundTrips.total
    data = await api.data(query, variables)
    return Cost(data, statements.seen[start:], RoundTrips.total - cypher)


def same_cost(small: Cost, large: Cost) -> tuple[int, int]:
    """Both requests' (SQL statements, Cypher round trips), which must be equal."""
    assert (len(small.sql), small.cypher) == (len(large.sql), large.cypher), (small, large)
    return len(large.sql), large.cypher


async def test_nested_page_costs_the_same_for_2_and_12_accounts(
    api: Api, statements: Statements
) -> None:
    holding = await company(api, "集团")
    for n in range(12):
        child = await company(api, f"子{n:02d}")
        await linked(api, child, holding, 50)
        for person in ("张伟", "王芳"):
            await make_contact(api, child, name=person, phone="13800138000")
    await api.projector.drain()
    await cost(api, statements, PAGE, first=1)  # warm the connection pools
    small = await cost(api, statements, PAGE, first=2)
    large = await cost(api, statements, PAGE, first=12)
    assert len(small.data["accounts"]["edges"]) == 2
    assert len(large.data["accounts"]["edges"]) == 12
    # 1 rate-limit counter;
    # 4 authentication: user, session (refresh-token family, step-up state), roles,
    #   department subtree;
    # 5 reads: accounts page, totalCount, contacts pages, contact counts,
    #   parent/ultimate-parent rows;
    # 3 the operation's one read.sensitive record (the phones): the reader's recent
    #   sensitive-read volume, the audit chain head, the insert.
    # 1 batched Cypher query for all ancestries.
    assert same_cost(small, large) == (13, 1)


async def test_account_contacts_cost_the_same_for_2_and_8_contacts(
    api: Api, statements: Statements
) -> None:
    account = await make_account(api)
    for n in range(8):
        await make_contact(api, account, name=f"联系人{n}", title="工程师", phone="13800138000")
    await cost(api, statements, ACCOUNT_CONTACTS, id=account, first=1)
    small = await cost(api, statements, ACCOUNT_CONTACTS, id=account, first=2)
    large = await cost(api, statements, ACCOUNT_CONTACTS, id=account, first=8)
    assert len(small.data["account"]["contacts"]["edges"]) == 2
    assert len(large.data["account"]["contacts"]["edges"]) == 8
    # 1 rate-limit counter; 4 authentication (user, session, roles, department subtree);
    # 3 reads: the account, its contacts page, their count;
    # 3 the operation's one read.sensitive record (the phones): the reader's recent
    #   sensitive-read volume, the audit chain head, the insert.
    assert same_cost(small, large) == (11, 0), large.sql


async def test_contact_search_costs_the_same_for_2_and_8_matches(
    api: Api, statements: Statements
) -> None:
    for n in range(8):
        account = await make_account(api, name=f"公司{n}")
        await make_contact(api, account, name=f"联系人{n}", phone="13900139000")
    await cost(api, statements, CONTACT_SEARCH, first=1)
    small = await cost(api, statements, CONTACT_SEARCH, first=2)
    large = await cost(api, statements, CONTACT_SEARCH, first=8)
    assert len(small.data["contacts"]["edges"]) == 2
    assert [edge["node"]["account"]["name"] for edge in large.data["contacts"]["edges"]] == [
        f"公司{n}" for n in range(8)]
    # 1 rate-limit counter; 4 authentication (user, session, roles, department subtree);
    # 3 reads: the blind-index page, its count, the contacts' accounts (one batch);
    # 3 the operation's one read.sensitive record (the phones): the reader's recent
    #   sensitive-read volume, the audit chain head, the insert.
    assert same_cost(small, large) == (11, 0), large.sql


async def group(api: Api, name: str, size: int) -> str:
    """A company with `size` shareholders (10 % each) and `size` subsidiaries (50 % each)."""
    root = await company(api, f"成员{name}")
    for n in range(size):
        await linked(api, root, await company(api, f"股东{name}{n}"), 10)
        await linked(api, await company(api, f"子公司{name}{n}"), root, 50)
    await api.projector.drain()
    return root


async def measured(api: Api, statements: Statements, query: str, few: str,
                   many: str) -> tuple[Cost, Cost]:
    await cost(api, statements, query, id=few)  # warm the connection pools
    return (await cost(api, statements, query, id=few),
            await cost(api, statements, query, id=many))


async def test_shareholders_and_group_tree_cost_the_same_for_2_and_8_members(
    api: Api, statements: Statements
) -> None:
    few, many = await group(api, "甲", 2), await group(api, "乙", 8)
    small, large = await measured(api, statements, SHAREHOLDERS, few, many)
    assert len(small.data["account"]["shareholders"]) == 2
    assert len(large.data["account"]["shareholders"]) == 8
    # 1 rate-limit counter; 4 authentication (user, session, roles, department subtree);
    # 2 reads: the account, the holders' rows (one batch);
    # 1 Cypher query for the account's ancestry.
    assert same_cost(small, large) == (7, 1), large.sql
    small, large = await measured(api, statements, GROUP_TREE, few, many)
    tree = large.data["account"]["groupTree"]
    assert (len(tree["ancestors"]), len(tree["descendants"])) == (8, 8)
    assert all(member["account"]["name"] for member in tree["ancestors"] + tree["descendants"])
    # 1 rate-limit counter; 4 authentication;
    # 2 reads: the account, the members' rows (ancestors and descendants in one batch);
    # 2 Cypher queries: the ancestry and the descendants.
    assert same_cost(small, large) == (7, 2), large.sql


async def test_group_fields_on_a_page_cost_the_same_for_2_and_8_accounts(
    api: Api, statements: Statements
) -> None:
    for n in range(8):
        await group(api, f"{n}", 2)
    await cost(api, statements, GROUP_PAGE, first=1)
    small = await cost(api, statements, GROUP_PAGE, first=2)
    large = await cost(api, statements, GROUP_PAGE, first=8)
    assert [len(edge["node"]["shareholders"]) for edge in large.data["accounts"]["edges"]] == [
        2] * 8
    # 1 rate-limit counter; 4 authentication (user, session, roles, department subtree);
    # 3 reads: the accounts page, the holders' rows, the tree members' rows (each one
    #   batch for the whole page: holders resolve one step before tree members);
    # 2 Cypher queries for the whole page: ancestries, descendants.
    assert same_cost(small, large) == (8, 2), large.sql


async def test_audit_trail_costs_the_same_for_2_and_8_records(
    api: Api, statements: Statements
) -> None:
    for n in range(8):
        await make_account(api, name=f"公司{n}")
    auditor = api.as_user("auditor")
    await cost(auditor, statements, AUDIT_TRAIL, first=1)
    small = await cost(auditor, statements, AUDIT_TRAIL, first=2)
    large = await cost(auditor, statements, AUDIT_TRAIL, first=8)
    assert len(small.data["auditTrail"]["edges"]) == 2
    assert len(large.data["auditTrail"]["edges"]) == 8
    # 1 rate-limit counter; 4 authentication (user, session, roles, department subtree);
    # 3 reads: the records page, the classification of the records' targets (accounts and
    #   contacts, one statement, to redact what is above the reader), the count.
    assert same_cost(small, large) == (8, 0), large.sql


ADMIN_LISTS = {  # field: (the query, a mutation adding one item, items the demo seed has)
    "apiTokens": (API_TOKENS, CREATE_TOKEN, 0),
    "departments": (DEPARTMENTS, CREATE_DEPARTMENT, 3),
}


@pytest.mark.parametrize("field", sorted(ADMIN_LISTS))
async def test_admin_lists_cost_the_same_for_2_and_8_added_items(
    api: Api, statements: Statements, field: str
) -> None:
    query, add, seeded = ADMIN_LISTS[field]
    names = iter(f"项{n}" for n in range(8))
    for name in itertools.islice(names, 2):
        await api.data(add, {"name": name})
    await cost(api, statements, query)  # warm the connection pools
    small = await cost(api, statements, query)
    for name in names:
        await api.data(add, {"name": name})
    large = await cost(api, statements, query)
    assert (len(small.data[field]), len(large.data[field])) == (seeded + 2, seeded + 8)
    # 1 rate-limit counter; 4 authentication (user, session, roles, department subtree);
    # 1 read: the list.
    assert same_cost(small, large) == (6, 0), large.sql


async def test_several_root_fields_authenticate_once(api: Api, statements: Statements) -> None:
    await make_account(api)
    query = """{ a: accounts { edges { node { name } } } b: accounts { totalCount }
                 c: accounts(first: 1) { edges { node { name } } } me { username roles } }"""
    await cost(api, statements, "{ me { username } }")
    both = await cost(api, statements, query)
    assert both.data["b"] == {"totalCount": 1}
    assert both.data["me"] == {"username": "admin", "roles": ["admin"]}
    # The caller is authenticated once for the whole request, not per root field.
    for table in ("users", "refresh_tokens", "roles", "departments"):
        assert sum(f"FROM {table} " in sql for sql in both.sql) == 1, (table, both.sql)
    # 1 rate-limit counter; 4 authentication (user, session, roles, department subtree);
    # 4 reads: the three accounts pages (a connection reads its page even when only
    #   totalCount is asked for) and b's count; `me` is answered from the authenticated actor.
    assert (len(both.sql), both.cypher) == (9, 0), both.sql


def _unwrapped(node: TypeNode) -> TypeNode:
    return node.type if isinstance(node, NonNullTypeNode) else node


def _named(node: TypeNode) -> str:
    while not isinstance(node, NamedTypeNode):
        assert isinstance(node, NonNullTypeNode | ListTypeNode)
        node = node.type
    return node.name.value


def sdl_list_fields() -> set[str]:
    """Fields returning a connection or a list of objects. A connection's own `edges` come with
    it, and lists of scalars or enums (tags, permissions) are values of the row already read."""
    document = parse(SDL_PATH.read_text())
    objects = {definition.name.value: definition for definition in document.definitions
               if isinstance(definition, ObjectTypeDefinitionNode)}
    composite = set(objects) | {definition.name.value for definition in document.definitions
                                if isinstance(definition, InterfaceTypeDefinitionNode
                                              | UnionTypeDefinitionNode)}
    found: set[str] = set()
    for name, definition in objects.items():
        if name.endswith(("Connection", "Edge")):
            continue
        for field in definition.fields or ():
            returns = _named(field.type)
            is_list = isinstance(_unwrapped(field.type), ListTypeNode)
            if returns.endswith("Connection") or (is_list and returns in composite):
                found.add(f"{name}.{field.name.value}")
    return found


def test_every_list_field_of_the_sdl_has_a_query_count_test() -> None:
    found = sdl_list_fields()
    # A new list field needs a test above proving its cost is constant, then a place in COVERED.
    assert sorted(found - COVERED) == [], "list fields without a query-count test"
    assert sorted(COVERED - found) == [], "covered fields no longer in the SDL"
