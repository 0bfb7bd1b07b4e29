"""Round trips per request must not grow with the number of items of any list field
(DataLoaders, batched Cypher): each test reads a list field with few and with many items and
gets the same number of SQL statements and Cypher round trips, pinned and explained."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from graph.engine import RoundTrips
from relational.uow import RequestMeta
from services import tasks
from tests.conftest import Api, Seed
from tests.factories import Statements, make_account, make_contact, recording
from tests.operations_helpers import add_engineer, open_ticket
from tests.test_groups_api import company, linked

# Every list field of the SDL with a test below (the guard at the end keeps this complete).
COVERED = {
    "Query.accounts", "Query.contacts", "Query.auditTrail", "Query.apiTokens",
    "Query.departments", "Account.contacts", "Account.shareholders", "GroupTree.ancestors",
    "GroupTree.descendants", "Query.tickets", "Ticket.history", "Account.tags",
    "Query.myInbox",
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


CONTACT_PAGES = """
query($first: Int!) {
  accounts(first: $first) {
    edges { node { name contacts(first: 5) { edges { node { name phone } } } } }
  }
}
"""


async def test_accounts_page_with_contacts_costs_the_same_for_5_and_50_accounts(
    api: Api, statements: Statements
) -> None:
    for n in range(50):
        account = await make_account(api, name=f"客户{n:02d}")
        for person in ("张伟", "王芳") if n % 5 else ():  # every fifth account has none
            await make_contact(api, account, name=person, phone="13800138000")
    await cost(api, statements, CONTACT_PAGES, first=1)  # warm the connection pools
    small = await cost(api, statements, CONTACT_PAGES, first=5)
    large = await cost(api, statements, CONTACT_PAGES, first=50)
    assert [sum(len(edge["node"]["contacts"]["edges"]) for edge in page.data["accounts"]["edges"])
            for page in (small, large)] == [8, 80]
    # 1 rate-limit counter; 4 authentication (user, session, roles, department subtree);
    # 2 reads: the accounts page, the contacts of all its accounts (one statement);
    # 3 the read.sensitive audit record of the phones.
    assert same_cost(small, large) == (10, 0)


TICKET_PAGE = """
query($first: Int!) {
  tickets(first: $first) { totalCount edges { node {
    subject assignee { id displayName } account { id ... on Account { name tags { name rule } } }
    history { kind toState }
  } } }
}
"""


async def test_ticket_page_costs_the_same_for_2_and_12_tickets(
    api: Api, statements: Statements, seed: Seed
) -> None:
    await add_engineer(api, seed, "service", skills=["售后"], regions=["华东"], capacity=20)
    for n in range(12):
        await open_ticket(api, await make_account(api, name=f"工单客户{n:02d}"))
    await cost(api, statements, TICKET_PAGE, first=1)
    small = await cost(api, statements, TICKET_PAGE, first=2)
    large = await cost(api, statements, TICKET_PAGE, first=12)
    assert len(large.data["tickets"]["edges"]) == 12
    # 1 rate-limit counter, 4 authentication; the page, its count, the accounts, their tag
    # provenance, the histories, the assignees' names: one statement each.
    assert same_cost(small, large) == (11, 0)


INBOX_PAGE = "query($first: Int!) { myInbox(first: $first) { edges { node { title dueAt } } } }"


async def test_inbox_page_costs_the_same_for_2_and_12_entries(
    api: Api, statements: Statements, seed: Seed
) -> None:
    async with api.stores.uow(RequestMeta(actor="test")) as uow:
        for n in range(12):
            tasks.create(uow, user_id=seed.user_ids["admin"], kind="care", title=f"回访{n}",
                         due_at=api.stores.clock.now())
    small = await cost(api, statements, INBOX_PAGE, first=2)
    large = await cost(api, statements, INBOX_PAGE, first=12)
    assert len(large.data["myInbox"]["edges"]) == 12
    # 1 rate-limit counter, 4 authentication; the page, its tasks, its notifications.
    assert same_cost(small, large) == (8, 0)
