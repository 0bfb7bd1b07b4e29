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
from tests.pipeline_helpers import deal, move, quote
from tests.test_groups_api import company, linked
from tests.test_supply_api import supplies

# Every list field of the SDL with a test below (the guard at the end keeps this complete).
COVERED = {
    "Query.accounts", "Query.contacts", "Query.auditTrail", "Query.apiTokens",
    "Query.departments", "Account.contacts", "Account.shareholders", "GroupTree.ancestors",
    "GroupTree.descendants", "Account.interactions", "Contact.interactions",
    "Query.interactions", "Interaction.contacts", "Account.committee", "DecisionMap.nodes",
    "DecisionMap.edges", "DecisionMap.brokers", "DecisionMap.gaps",
    "Account.supplyChain", "Query.exposure", "Exposure.path", "Exposure.opportunities",
    "Query.opportunities", "Opportunity.stageHistory",
    "Opportunity.quotes", "Opportunity.contracts", "Opportunity.risks", "Quote.lines",
    "Query.tickets", "Ticket.history", "Account.tags",
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


INTERACTION_PAGES = """
query($first: Int!) {
  accounts(first: $first) {
    edges { node { interactions(first: 3) { totalCount edges { node {
      subject staff { name } contacts { id ... on Contact { name } } } } } } }
  }
  interactions(first: 50) { edges { node { subject } } }
}
"""
LOG_INTERACTION = """
mutation($a: ID!, $c: [ID!]!) { interactionLog(input: {accountId: $a, contactIds: $c,
  channel: CALL, direction: INBOUND, occurredAt: "2026-01-05T08:00:00Z", subject: "回访"}) {
  interaction { id } } }
"""


async def test_interaction_lists_cost_the_same_for_2_and_10_accounts(
    api: Api, statements: Statements
) -> None:
    for n in range(10):
        account = await make_account(api, name=f"客户{n:02d}")
        people = [await make_contact(api, account, name=name) for name in ("张伟", "王芳")]
        for _ in range(2):
            await api.data(LOG_INTERACTION, {"a": account, "c": people})
    await cost(api, statements, INTERACTION_PAGES, first=1)  # warm the connection pools
    small = await cost(api, statements, INTERACTION_PAGES, first=2)
    large = await cost(api, statements, INTERACTION_PAGES, first=10)
    assert [sum(len(edge["node"]["interactions"]["edges"])
                for edge in page.data["accounts"]["edges"]) for page in (small, large)] == [4, 20]
    # 1 rate-limit counter; 4 authentication; 1 the accounts page; 2 the caller's own list
    # and the contacts of its interactions; 2 the interactions of every account of the page
    # (one statement) and their contacts; 1 the counts of all those lists; 1 the staff
    # names; 2 the contacts met (two DataLoader batches, one statement each).
    assert same_cost(small, large) == (14, 0)


DECISION_MAP = """
query($id: ID!) {
  account(id: $id) {
    decisionMap { computedAt nodes { id name influence role lastContactAt explanation { share } }
                  edges { kind weight } brokers { id } gaps { id } coverage { completeness } }
    committee { role influence contact { id ... on Contact { name } } }
  }
}
"""
SUPPLY_PAGE = """
query($first: Int!) {
  accounts(first: $first, filter: {nameContains: "链"}, orderBy: {field: NAME}) {
    edges { node { name supplyChain(direction: DOWNSTREAM, depth: 2) {
      tier share account { id ... on Account { name } } } } }
  }
}
"""
EXPOSURE = """
query($id: ID!) {
  exposure(accountId: $id, maxTier: 3) {
    tier score account { id ... on Account { name } } path { id ... on Account { name } }
    opportunities { name amount }
  }
}
"""
DEALS = """
query($first: Int!) {
  opportunities(first: $first) {
    totalCount
    edges { node {
      name stage amount winProbability risks { reason weight } owner { username }
      account { id ... on Account { name } } stageHistory { toStage }
      quotes { total lines { unitPrice } } contracts { amount } tender { overdue }
    } }
  }
}
"""
TICKET_PAGE = """
query($first: Int!) {
  tickets(first: $first) { totalCount edges { node {
    subject assignee { id displayName } account { id ... on Account { name tags { name rule } } }
    history { kind toState }
  } } }
}
"""


async def _committee_of(api: Api, size: int) -> str:
    from tests.test_decision_maps_api import member
    from tests.test_interactions_api import log
    from tests.test_relationships_api import relate

    account = await make_account(api, name=f"委员会{size}")
    people = [await make_contact(api, account, name=f"成员{n}") for n in range(size)]
    for n, person in enumerate(people):
        await member(api, account, person, "DECISION_MAKER" if n == 0 else "USER")
        if n:
            await relate(api, kind="INFLUENCES", fromId=person, toId=people[n // 2],
                         weight=0.5)
    await log(api, account, people[-2:])
    return account


async def test_a_decision_map_costs_the_same_for_3_and_12_members(
    api: Api, statements: Statements
) -> None:
    small_map, large_map = await _committee_of(api, 3), await _committee_of(api, 12)
    await cost(api, statements, DECISION_MAP, id=small_map)  # warm the connection pools
    small = await cost(api, statements, DECISION_MAP, id=small_map)
    large = await cost(api, statements, DECISION_MAP, id=large_map)
    assert [len(c.data["account"]["committee"]) for c in (small, large)] == [3, 12]
    # 1 rate-limit counter; 4 authentication; 1 the account; per field (decisionMap and
    # committee): the members, the visible contacts, the staff names, the last contacts and
    # the stored scores (5 each); 1 the committee's contacts (one DataLoader batch); and one
    # graph query per field.
    assert same_cost(small, large) == (17, 2)


async def test_supply_chains_of_a_page_cost_one_graph_query(
    api: Api, statements: Statements
) -> None:
    for n in range(8):
        supplier = await make_account(api, name=f"链{n:02d}")
        for m in range(2):
            buyer = await make_account(api, name=f"客户{n:02d}{m}")
            await supplies(api, supplier, buyer, "HIGH", "30")
    await cost(api, statements, SUPPLY_PAGE, first=1)  # warm the connection pools
    small = await cost(api, statements, SUPPLY_PAGE, first=2)
    large = await cost(api, statements, SUPPLY_PAGE, first=8)
    assert [sum(len(edge["node"]["supplyChain"]) for edge in page.data["accounts"]["edges"])
            for page in (small, large)] == [4, 16]
    # 1 rate-limit counter; 4 authentication; 2 reads: the accounts page, the accounts at the
    # far ends of every chain (one statement); 1 batched Cypher query for all chains.
    assert same_cost(small, large) == (7, 1)


async def test_exposure_costs_the_same_for_1_and_12_exposed_accounts(
    api: Api, statements: Statements
) -> None:
    lone, hub = await make_account(api, name="单一供应商"), await make_account(api, name="枢纽")
    customer = await make_account(api, name="客户甲")
    await supplies(api, lone, customer, "LOW", "10")
    await deal(api, account=customer)
    for n in range(6):
        buyer = await make_account(api, name=f"一级{n}")
        await supplies(api, hub, buyer, "SOLE_SOURCE", "100")
        await supplies(api, buyer, await make_account(api, name=f"二级{n}"), "MEDIUM", "40")
        for _ in range(2):
            await deal(api, account=buyer)
    await cost(api, statements, EXPOSURE, id=lone)  # warm the connection pools
    small = await cost(api, statements, EXPOSURE, id=lone)
    large = await cost(api, statements, EXPOSURE, id=hub)
    assert [len(found.data["exposure"]) for found in (small, large)] == [1, 12]
    assert [sum(len(item["opportunities"]) for item in found.data["exposure"])
            for found in (small, large)] == [1, 12]
    # 1 rate-limit counter; 4 authentication; 3 reads: the source account, then every
    # exposed account and path member (one statement), the open deals of every exposed
    # account (one statement); 3 the read.sensitive record of the amounts; 1 Cypher query
    # for the snapshot.
    assert same_cost(small, large) == (11, 1)


async def test_opportunities_page_costs_the_same_for_2_and_12_deals(
    api: Api, statements: Statements
) -> None:
    account = await make_account(api)
    for n in range(12):
        made = await deal(api, account=account, amount=f"{1000 + n}.00")
        await quote(api, made["id"])
        await move(api, made, "QUALIFICATION")
    await cost(api, statements, DEALS, first=1)  # warm the connection pools
    small = await cost(api, statements, DEALS, first=2)
    large = await cost(api, statements, DEALS, first=12)
    assert len(large.data["opportunities"]["edges"]) == 12
    # 1 rate-limit counter; 4 authentication;
    # 18 reads: the page, totalCount, the owners, the accounts, the stage histories (visible
    #   deals, their moves), quotes and their lines, contracts, tenders and their milestones,
    #   win scores (the model, the deals, their moves, quote discounts, tender flags, the
    #   days since the last interaction, the committees' roles);
    # 3 the read.sensitive record of the amounts.
    assert same_cost(small, large) == (26, 0)


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
