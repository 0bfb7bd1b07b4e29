"""Round trips per request must not grow with the page size (DataLoaders, batched Cypher)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from graph.engine import RoundTrips
from tests.conftest import Api
from tests.factories import make_account, make_contact
from tests.test_groups_api import company, linked

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


class Counter:
    sql = 0


@pytest.fixture
def counter() -> Iterator[Counter]:
    counted = Counter()

    def count(*args: Any) -> None:
        statement = str(args[2])
        # The app's projector polls the outbox in the background; that is not the request.
        if "outbox" not in statement and "advisory" not in statement:
            counted.sql += 1

    event.listen(Engine, "before_cursor_execute", count)
    yield counted
    event.remove(Engine, "before_cursor_execute", count)


async def round_trips(api: Api, counter: Counter, first: int) -> tuple[int, int, int]:
    sql, cypher = counter.sql, RoundTrips.total
    data = await api.data(PAGE, {"first": first})
    return len(data["accounts"]["edges"]), counter.sql - sql, RoundTrips.total - cypher


async def test_nested_page_costs_the_same_for_2_and_12_accounts(
    api: Api, counter: Counter
) -> None:
    holding = await company(api, "集团")
    for n in range(12):
        child = await company(api, f"子{n:02d}")
        await linked(api, child, holding, 50)
        for person in ("张伟", "王芳"):
            await api.data('mutation($id: ID!, $name: String!) { contactCreate(input: '
                           '{accountId: $id, name: $name, phone: "13800138000"}) '
                           '{ contact { id } } }', {"id": child, "name": person})
    await api.projector.drain()
    await round_trips(api, counter, 1)  # warm the connection pools
    small = await round_trips(api, counter, 2)
    large = await round_trips(api, counter, 12)
    assert small[0] == 2 and large[0] == 12
    assert small[1:] == large[1:]
    # 1 rate-limit counter;
    # 4 authentication: user, session (refresh-token family, step-up state), roles,
    #   department subtree;
    # 5 reads: accounts page, totalCount, contacts pages, contact counts,
    #   parent/ultimate-parent rows;
    # 3 the operation's one read.sensitive record (the phones): the reader's recent
    #   sensitive-read volume, the audit chain head, the insert.
    assert large[1] == 13, large
    assert large[2] == 1, large  # one batched Cypher query for all ancestries


CONTACT_PAGES = """
query($first: Int!) {
  accounts(first: $first) {
    edges { node { name contacts(first: 5) { edges { node { name phone } } } } }
  }
}
"""


async def test_accounts_page_with_contacts_costs_the_same_for_5_and_50_accounts(
    api: Api, counter: Counter
) -> None:
    for n in range(50):
        account = await make_account(api, name=f"客户{n:02d}")
        for person in ("张伟", "王芳") if n % 5 else ():  # every fifth account has none
            await make_contact(api, account, name=person, phone="13800138000")

    async def cost(first: int) -> tuple[int, int, int]:
        sql = counter.sql
        data = await api.data(CONTACT_PAGES, {"first": first})
        nodes = [edge["node"] for edge in data["accounts"]["edges"]]
        contacts = sum(len(node["contacts"]["edges"]) for node in nodes)
        return len(nodes), contacts, counter.sql - sql

    await cost(1)  # warm the connection pools
    assert await cost(5) == (5, 8, 10)
    # 1 rate-limit counter; 4 authentication (user, session, roles, department subtree);
    # 2 reads: the accounts page, the contacts of all its accounts (one statement);
    # 3 the read.sensitive audit record of the phones.
    assert await cost(50) == (50, 80, 10)
