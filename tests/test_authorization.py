"""The authorization matrix over HTTP: role × data scope × clearance for every protected contact
field and every mutation, and the bypass routes (aliases, fragments, interfaces, nested paths,
connections, node ids, filters, counts, group trees)."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from auth.actor import Clearance
from relational.uow import RequestMeta
from services.identity.users import create_user
from services.uscc import make_uscc
from tests.conftest import Api

_serial = itertools.count(100)
PHONE, EMAIL, ID_NUMBER = "13812345678", "zhangwei@east-def.com.cn", "510107199003071236"
CLEAR = {"phone": PHONE, "email": EMAIL, "idNumber": ID_NUMBER}
MASKED = {"phone": "138****5678", "email": "z***@east-def.com.cn",
          "idNumber": "5101**********1236"}

CREATE = """mutation($input: AccountCreateInput!) { accountCreate(input: $input) {
  account { id } } }"""
CONTACT = """mutation($input: ContactCreateInput!) { contactCreate(input: $input) {
  contact { id } } }"""
READ = """query($id: ID!) { account(id: $id) { name contacts { totalCount edges { node {
  phone email idNumber } } } } }"""


@dataclass
class World:
    east: str
    east_contact: str
    north: str
    north_contact: str
    secret: str


async def account(api: Api, user: str, region: str, classification: str = "INTERNAL") -> str:
    body = await api.as_user(user).post(CREATE, {"input": {
        "name": f"测试{region}公司{next(_serial)}", "region": region, "industry": "国防电子",
        "uscc": make_uscc(random.Random(next(_serial)), division="310000"),
        "annualRevenue": "1000.00", "classification": classification}})
    assert "errors" not in body, body
    account_id: str = body["data"]["accountCreate"]["account"]["id"]
    return account_id


async def contact(api: Api, user: str, account_id: str) -> str:
    body = await api.as_user(user).post(CONTACT, {"input": {
        "accountId": account_id, "name": "张伟", "phone": PHONE, "email": EMAIL,
        "idNumber": ID_NUMBER}})
    assert "errors" not in body, body
    contact_id: str = body["data"]["contactCreate"]["contact"]["id"]
    return contact_id


@pytest.fixture
async def world(api: Api) -> World:
    return await make_world(api)


async def make_world(api: Api) -> World:
    """A 华东 account and contact of sales.east, a 华北 one of sales.north, a 秘密 account."""
    east = await account(api, "sales.east", "华东")
    north = await account(api, "sales.north", "华北")
    return World(east=east, east_contact=await contact(api, "sales.east", east),
                 north=north, north_contact=await contact(api, "sales.north", north),
                 secret=await account(api, "admin", "华东", "SECRET"))


def node_of(body: dict[str, Any]) -> dict[str, Any] | None:
    found = body["data"]["account"]
    if found is None:
        return None
    edges = found["contacts"]["edges"]
    assert len(edges) == 1 and found["contacts"]["totalCount"] == 1
    node: dict[str, Any] = edges[0]["node"]
    return node


EXPECTED = {  # who reads the 华东 contact's protected fields, and how
    "admin": CLEAR, "sales.east": CLEAR, "manager.east": CLEAR,
    "finance": MASKED, "service": MASKED, "auditor": MASKED, "sales.north": None,
}


@pytest.mark.parametrize(("user", "expected"), EXPECTED.items())
async def test_contact_fields_by_role(api: Api, world: World, user: str,
                                      expected: dict[str, str] | None) -> None:
    body = await api.as_user(user).post(READ, {"id": world.east})
    assert "errors" not in body, body
    assert node_of(body) == expected
    outcome = "clear" if expected is CLEAR else "masked"
    reads = await api.scalar(
        "SELECT after FROM audit_log WHERE operation = 'read.sensitive' ORDER BY id DESC LIMIT 1")
    if expected is None:
        assert reads is None  # nothing was read
    else:
        assert sorted((read["field"], read["outcome"]) for read in reads["reads"]) == sorted(
            (field, outcome) for field in ("phone", "email", "idNumber"))
        actor = await api.scalar("SELECT actor FROM audit_log ORDER BY id DESC LIMIT 1")
        assert actor == user


async def test_anonymous_reads_nothing(api: Api, world: World) -> None:
    body = await api.anonymous.post(READ, {"id": world.east})
    assert body["data"] == {"account": None}
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    listing = await api.anonymous.post("{ accounts { totalCount } }")
    assert listing["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_out_of_scope_records_do_not_exist_for_the_reader(api: Api, world: World) -> None:
    north = api.as_user("sales.north")
    assert (await north.data("{ accounts { totalCount edges { node { id } } } }")) == {
        "accounts": {"totalCount": 1, "edges": [{"node": {"id": world.north}}]}}
    for query, variables in (
        ("query($id: ID!) { account(id: $id) { id } }", {"id": world.east}),
        ("query($id: ID!) { node(id: $id) { id } }", {"id": world.east}),
        ("query($id: ID!) { node(id: $id) { id } }", {"id": world.east_contact}),
        ("query($id: ID!) { contact(id: $id) { id } }", {"id": world.east_contact}),
    ):
        assert (await north.data(query, variables)) in ({"account": None}, {"node": None},
                                                         {"contact": None})
    filtered = await north.data('{ accounts(filter: {region: "华东"}) { totalCount } }')
    assert filtered == {"accounts": {"totalCount": 0}}
    search = await north.data("""query($p: String!) {
        contacts(filter: {phone: $p}) { totalCount edges { node { id } } } }""", {"p": PHONE})
    assert search == {"contacts": {"totalCount": 1,
                                   "edges": [{"node": {"id": world.north_contact}}]}}


async def test_clearance_hides_classified_records(api: Api, world: World) -> None:
    query = "query($id: ID!) { account(id: $id) { id classification } }"
    assert (await api.as_user("auditor").data(query, {"id": world.secret})) == {
        "account": {"id": world.secret, "classification": "SECRET"}}
    for user in ("finance", "manager.east", "sales.east", "service"):
        assert (await api.as_user(user).data(query, {"id": world.secret})) == {"account": None}
    total = await api.as_user("finance").data("{ accounts { totalCount } }")
    assert total == {"accounts": {"totalCount": 2}}


async def test_classified_field_is_denied_below_its_level(api: Api, world: World) -> None:
    async with api.stores.uow(RequestMeta(actor="test")) as uow:
        await create_user(uow, "public.reader", "Demo#2026", display_name="公开", roles=["finance"],
                          clearance=Clearance.PUBLIC)
    async with api.stores.ledger.sessionmaker() as session:
        from sqlalchemy import text

        await session.execute(text("UPDATE accounts SET classification = 0"))
        await session.commit()
    body = await api.as_user("public.reader").post(
        "query($id: ID!) { account(id: $id) { name annualRevenue } }", {"id": world.east})
    assert body["data"] == {"account": {"name": body["data"]["account"]["name"],
                                        "annualRevenue": None}}
    error = body["errors"][0]
    assert (error["path"], error["extensions"]["code"]) == (["account", "annualRevenue"],
                                                           "FORBIDDEN")
    assert "1000" not in error["message"]


BYPASSES = {
    "aliases": """query($id: ID!) { account(id: $id) { contacts { edges { node {
        a: phone b: phone c: email d: idNumber } } } } }""",
    "fragment": """query($id: ID!) { account(id: $id) { contacts { edges { node { ...P } } } } }
        fragment P on Contact { a: phone b: email c: idNumber }""",
    "node interface": """query($c: ID!) { node(id: $c) { ... on Contact { a: phone b: email
        c: idNumber } } }""",
    "contact by id": "query($c: ID!) { contact(id: $c) { a: phone b: email c: idNumber } }",
    "nested path": """query($c: ID!) { contact(id: $c) { account { contacts { edges { node {
        a: phone b: email c: idNumber } } } } } }""",
}


@pytest.mark.parametrize("route", BYPASSES)
async def test_masking_holds_on_every_route(api: Api, world: World, route: str) -> None:
    body = await api.as_user("finance").post(BYPASSES[route], {"id": world.east,
                                                               "c": world.east_contact})
    assert "errors" not in body, body
    text_of = str(body)
    assert PHONE not in text_of and EMAIL not in text_of and ID_NUMBER not in text_of
    assert "138****5678" in text_of


async def test_filtering_on_a_protected_field_needs_its_permission(api: Api, world: World) -> None:
    body = await api.as_user("finance").post(
        "query($p: String!) { contacts(filter: {phone: $p}) { totalCount } }", {"p": PHONE})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert body["data"] is None


async def test_group_tree_shows_out_of_scope_companies_as_stubs(api: Api, world: World) -> None:
    link = """mutation($c: ID!, $p: ID!) { accountLinkParent(input: {childId: $c, parentId: $p,
        sharePct: 60}) { sharePct } }"""
    assert "errors" not in await api.post(link, {"c": world.north, "p": world.east})
    await api.projector.drain()
    tree = """query($id: ID!) { account(id: $id) { groupTree(depth: 2) { descendants {
        depth effectiveOwnership account { id restricted ... on Account { name } } } } } }"""
    body = await api.as_user("sales.east").data(tree, {"id": world.east})
    assert body["account"]["groupTree"]["descendants"] == [{
        "depth": 1, "effectiveOwnership": "60.000000",
        "account": {"id": world.north, "restricted": True}}]
    parent = await api.as_user("sales.north").data(
        "query($id: ID!) { account(id: $id) { parent { id restricted } } }", {"id": world.north})
    assert parent == {"account": {"parent": {"id": world.east, "restricted": True}}}


Variables = Callable[[World], dict[str, Any]]
MUTATIONS: dict[str, tuple[str, Variables]] = {
    "accountCreate": (CREATE, lambda w: {"input": {
        "name": "新公司", "region": "华东", "industry": "x",
        "uscc": make_uscc(random.Random(7), division="310000")}}),
    "accountUpdate": ("""mutation($id: ID!) { accountUpdate(input: {id: $id, name: "改名"}) {
        account { id } } }""", lambda w: {"id": w.east}),
    "contactCreate": (CONTACT, lambda w: {"input": {"accountId": w.east, "name": "李四"}}),
    "contactUpdate": ("""mutation($id: ID!) { contactUpdate(input: {id: $id, name: "王五"}) {
        contact { id } } }""", lambda w: {"id": w.east_contact}),
    "contactDelete": ("""mutation($id: ID!) { contactDelete(input: {id: $id}) {
        deletedContactId } }""", lambda w: {"id": w.east_contact}),
    "accountLinkParent": ("""mutation($c: ID!, $p: ID!) { accountLinkParent(input: {childId: $c,
        parentId: $p, sharePct: 10}) { sharePct } }""", lambda w: {"c": w.east, "p": w.north}),
}
AUDITED_AS = {"accountCreate": "account.create", "accountUpdate": "account.update",
              "contactCreate": "contact.create", "contactUpdate": "contact.update",
              "contactDelete": "contact.delete", "accountLinkParent": "account.linkParent"}
# The outcome of each mutation on the 华东 records for each identity.
OUTCOMES = {
    "anonymous": "UNAUTHENTICATED", "finance": "FORBIDDEN", "auditor": "FORBIDDEN",
    "service": "FORBIDDEN", "sales.north": "NOT_FOUND", "sales.east": "ok",
    "manager.east": "ok", "admin": "ok",
}
EXCEPTIONS = {
    # Anyone who may write creates accounts anywhere; the creator owns them.
    ("accountCreate", "sales.north"): "ok",
    # Linking needs both companies in sight: the 华北 one is not, for 华东 staff.
    ("accountLinkParent", "sales.east"): "NOT_FOUND",
    ("accountLinkParent", "manager.east"): "NOT_FOUND",
}


@pytest.mark.parametrize("mutation", MUTATIONS)
@pytest.mark.parametrize("user", OUTCOMES)
async def test_mutation_matrix(api: Api, world: World, mutation: str, user: str) -> None:
    """Every mutation × identity: allowed ones succeed; refused ones change nothing and the
    refusal of a missing permission is audited."""
    query, variables = MUTATIONS[mutation]
    expected = EXCEPTIONS.get((mutation, user), OUTCOMES[user])
    before = await snapshot(api)
    body = await api.as_user(None if user == "anonymous" else user).post(query, variables(world))
    if expected == "ok":
        assert "errors" not in body, body
        assert await snapshot(api) != before  # the change is there
        return
    assert body["errors"][0]["extensions"]["code"] == expected, body
    assert await snapshot(api, ignore_audit=True) == {**before, "audit": None}
    if expected in ("UNAUTHENTICATED", "FORBIDDEN"):
        denied = await api.scalar(
            "SELECT after FROM audit_log WHERE operation = 'denied' ORDER BY id DESC LIMIT 1")
        assert denied["operation"] == AUDITED_AS[mutation]


async def snapshot(api: Api, *, ignore_audit: bool = False) -> dict[str, Any]:
    rows: dict[str, Any] = {}
    # The projector stamps outbox rows in the background: compare the events, not the stamps.
    for table, columns in (("accounts", "t"), ("contacts", "t"), ("account_edges", "t"),
                           ("outbox", "(t.id, t.topic, t.aggregate_id, t.payload)")):
        rows[table] = await api.scalar(
            f"SELECT md5(coalesce(string_agg({columns}::text, ',' "  # noqa: S608
            f"ORDER BY {columns}::text), '')) FROM {table} t"
            # A refusal's audit record reaches auditors' streams through the outbox too.
            + (" WHERE t.topic <> 'audit.security'" if table == "outbox" else ""))
    rows["audit"] = None if ignore_audit else await api.scalar(
        "SELECT count(*) FROM audit_log WHERE operation <> 'denied'")
    return rows


async def test_the_owner_manager_and_admin_may_write(api: Api, world: World) -> None:
    query = """mutation($id: ID!, $n: String!) { accountUpdate(input: {id: $id, name: $n}) {
        account { name } } }"""
    for user in ("sales.east", "manager.east", "admin"):
        body = await api.as_user(user).post(query, {"id": world.east, "n": f"改名-{user}"})
        assert body["data"]["accountUpdate"]["account"]["name"] == f"改名-{user}"


async def test_nobody_classifies_above_their_clearance(api: Api) -> None:
    body = await api.as_user("sales.east").post(CREATE, {"input": {
        "name": "机密公司", "region": "华东", "industry": "x", "classification": "SECRET",
        "uscc": make_uscc(random.Random(8), division="310000")}})
    assert (body["errors"][0]["extensions"]["code"],
            body["errors"][0]["extensions"]["field"]) == ("FORBIDDEN", "classification")
    assert await api.scalar("SELECT count(*) FROM accounts") == 0
