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
from tests.factories import raw_id

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
    tree = """query($id: ID!) { account(id: $id) { groupRevenue groupTree(depth: 2) {
        descendants { depth effectiveOwnership account { id restricted ... on Account {
        name } } } } } }"""
    body = await api.as_user("sales.east").data(tree, {"id": world.east})
    assert body["account"]["groupTree"]["descendants"] == [{
        "depth": 1, "effectiveOwnership": "60.000000",
        "account": {"id": world.north, "restricted": True}}]
    # The roll-up counts only what the reader sees: the hidden subsidiary adds nothing.
    assert body["account"]["groupRevenue"] == "1000.00"
    seen_all = await api.as_user("admin").data(tree, {"id": world.east})
    assert seen_all["account"]["groupRevenue"] == "1600.00"
    assert seen_all["account"]["groupTree"]["descendants"][0]["account"]["restricted"] is False
    parent = await api.as_user("sales.north").data(
        "query($id: ID!) { account(id: $id) { parent { id restricted } } }", {"id": world.north})
    assert parent == {"account": {"parent": {"id": world.east, "restricted": True}}}


SUPPLY = """mutation($s: ID!, $b: ID!, $c: Criticality!, $share: Decimal) {
  relationshipCreate(input: {kind: SUPPLIES, fromId: $s, toId: $b, criticality: $c,
    share: $share, validFrom: "2025-01-01"}) { relationship { id } } }"""
EXPOSURE = """query($id: ID!) { exposure(accountId: $id, maxTier: 2) {
  tier score account { id restricted ... on Account { name } }
  path { id restricted ... on Account { name } } } }"""
SUPPLY_CHAIN = """query($id: ID!) { account(id: $id) { supplyChain(direction: DOWNSTREAM) {
  tier fromId toId account { id restricted ... on Account { name } } } } }"""
# Who sees which account of the supply web north → east → secret (by name; else a stub).
SEES = {
    "admin": {"north", "east", "secret"}, "auditor": {"north", "east", "secret"},
    "finance": {"north", "east"}, "service": {"north", "east"}, "sales.north": {"north"},
    "sales.east": {"east"}, "manager.east": {"east"},
}


@pytest.mark.parametrize("user", [*SEES, "anonymous"])
async def test_supply_chain_and_exposure_show_what_the_reader_may_not_see_as_stubs(
    api: Api, world: World, user: str
) -> None:
    for supplier, buyer, criticality, share in ((world.north, world.east, "HIGH", "50"),
                                                (world.east, world.secret, "SOLE_SOURCE",
                                                 "100")):
        assert "errors" not in await api.post(SUPPLY, {"s": supplier, "b": buyer,
                                                       "c": criticality, "share": share})
    await api.projector.drain()
    names = {key: (await api.data("query($id: ID!) { account(id: $id) { name } }",
                                  {"id": getattr(world, key)}))["account"]["name"]
             for key in ("north", "east", "secret")}
    reader = api.as_user(None if user == "anonymous" else user)
    seen = SEES.get(user, set())

    def ref(key: str) -> dict[str, Any]:
        account_id = getattr(world, key)
        if key in seen:
            return {"id": account_id, "restricted": False, "name": names[key]}
        return {"id": account_id, "restricted": True}

    body = await reader.post(EXPOSURE, {"id": world.north})
    if user == "anonymous":
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    elif "north" not in seen:
        assert body["errors"][0]["extensions"] == {
            "code": "NOT_FOUND", "field": "accountId",
            "requestId": body["errors"][0]["extensions"]["requestId"]}
    else:
        assert body == {"data": {"exposure": [
            {"tier": 1, "score": 0.375, "account": ref("east"),
             "path": [ref("north"), ref("east")]},
            {"tier": 2, "score": 0.375, "account": ref("secret"),
             "path": [ref("north"), ref("east"), ref("secret")]}]}}
    chain = await reader.post(SUPPLY_CHAIN, {"id": world.east})
    if "east" in seen:
        assert chain == {"data": {"account": {"supplyChain": [
            {"tier": 1, "fromId": world.east, "toId": world.secret,
             "account": ref("secret")}]}}}
    hidden = [names[key] for key in names if key not in seen]
    assert not any(name in str(body) + str(chain) for name in hidden)


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
    "accountMarkDisrupted": ("""mutation($id: ID!) { accountMarkDisrupted(input: {accountId: $id,
        reason: "停产"}) { account { id } } }""", lambda w: {"id": w.east}),
}
AUDITED_AS = {"accountCreate": "account.create", "accountUpdate": "account.update",
              "contactCreate": "contact.create", "contactUpdate": "contact.update",
              "contactDelete": "contact.delete", "accountLinkParent": "account.linkParent",
              "accountMarkDisrupted": "account.markDisrupted"}
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


DECISION_MAP = """query($id: ID!) { account(id: $id) { decisionMap {
  nodes { id kind name } edges { fromId toId } } } }"""
PATHS = """query($to: ID!, $from: ID) { introductionPaths(to: $to, from: $from, maxHops: 2) {
  strength nodes { id name } } }"""
# Per reader: how the 华北 contact and the 秘密 account's contact appear on the map of the 华东
# account (None: the map itself is out of scope), and how many introduction paths from
# sales.east to the 华东 contact the reader is shown (each runs through one of them).
MAP_EXPECTED: dict[str, tuple[str, str, int] | None] = {
    "admin": ("CONTACT", "CONTACT", 2), "auditor": ("CONTACT", "CONTACT", 2),
    "manager.east": ("RESTRICTED", "RESTRICTED", 0), "sales.east": ("RESTRICTED", "RESTRICTED", 0),
    "finance": ("CONTACT", "RESTRICTED", 1), "service": ("CONTACT", "RESTRICTED", 1),
    "sales.north": None,
}


@pytest.mark.parametrize(("user", "expected"), MAP_EXPECTED.items())
async def test_decision_maps_and_paths_by_role(api: Api, world: World, user: str,
                                               expected: tuple[str, str, int] | None) -> None:
    from tests.test_decision_maps_api import member
    from tests.test_relationships_api import me, relate

    secret_contact = await contact(api, "admin", world.secret)
    await member(api.as_user("sales.east"), world.east, world.east_contact, "DECISION_MAKER")
    seller = await me(api.as_user("sales.east"))
    for source, weight in ((world.north_contact, 0.9), (secret_contact, 0.8)):
        await relate(api, kind="INFLUENCES", fromId=source, toId=world.east_contact,
                     weight=0.5)
        await relate(api, kind="KNOWS", fromId=seller, toId=source, weight=weight)
    await api.projector.drain()
    reader = api.as_user(user)
    body = await reader.post(DECISION_MAP, {"id": world.east})
    paths = await reader.post(PATHS, {"to": world.east_contact, "from": seller})
    if expected is None:
        assert body == {"data": {"account": None}}
        assert paths["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        return
    kinds = {node["id"]: node["kind"] for node in body["data"]["account"]["decisionMap"]["nodes"]}
    assert (kinds[world.north_contact], kinds[secret_contact]) == expected[:2]
    assert len(paths["data"]["introductionPaths"]) == expected[2]
    shown = str(paths["data"])
    for hidden, kind in ((world.north_contact, expected[0]), (secret_contact, expected[1])):
        assert (hidden in shown) == (kind == "CONTACT")
AMOUNTS = """query($id: ID!) { opportunity(id: $id) { name amount quotes { total lines {
  unitPrice lineTotal } } } }"""
MASK = "********"
# Who sees a deal's amounts (sales.east's deal on sales.east's 华东 account): finance and
# admins, the owner and the owner's management chain in clear; others who may see the deal
# masked; someone who may not see the deal gets null.
AMOUNT_MATRIX = {"admin": "clear", "finance": "clear", "sales.east": "clear",
                 "manager.east": "clear", "service": "masked", "auditor": "masked",
                 "sales.north": "hidden"}


async def _deal_with_quote(api: Api, owner: str, account_id: str) -> str:
    as_owner = api.as_user(owner)
    body = await as_owner.post("""mutation($a: ID!) { opportunityCreate(input: {accountId: $a,
        name: "雷达", amount: "5000.00", currency: "CNY"}) { opportunity { id } } }""",
                               {"a": account_id})
    assert "errors" not in body, body
    deal_id: str = body["data"]["opportunityCreate"]["opportunity"]["id"]
    quoted = await as_owner.post("""mutation($d: ID!) { quoteCreate(input: {opportunityId: $d,
        currency: "CNY", lines: [{product: "x", quantity: "2", unitPrice: "2500"}]}) {
        quote { id } } }""", {"d": deal_id})
    assert "errors" not in quoted, quoted
    return deal_id


async def test_deal_amounts_by_role_and_management_chain(api: Api) -> None:
    account_id = await account(api, "sales.east", "华东")
    deal_id = await _deal_with_quote(api, "sales.east", account_id)
    clear = {"name": "雷达", "amount": "5000.00",
             "quotes": [{"total": "5000.00", "lines": [{"unitPrice": "2500.00",
                                                         "lineTotal": "5000.00"}]}]}
    masked = {"name": "雷达", "amount": MASK,
              "quotes": [{"total": MASK, "lines": [{"unitPrice": MASK, "lineTotal": MASK}]}]}
    for user, expected in AMOUNT_MATRIX.items():
        body = await api.as_user(user).post(AMOUNTS, {"id": deal_id})
        assert "errors" not in body, (user, body)
        found = body["data"]["opportunity"]
        want = {"clear": clear, "masked": masked, "hidden": None}[expected]
        assert found == want, user
    anonymous = await api.anonymous.post(AMOUNTS, {"id": deal_id})
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    reads = await api.scalar("SELECT json_agg(after) FROM audit_log "
                             "WHERE operation = 'read.sensitive'")
    entry = {"type": "Opportunity", "field": "amount", "records": [raw_id(deal_id)]}
    outcomes = [read["outcome"] for record in reads for read in record["reads"]
                if {key: read[key] for key in entry} == entry]
    assert outcomes == ["clear"] * 4 + ["masked"] * 2


async def test_a_colleague_sees_a_deal_on_their_account_with_the_amount_masked(
        api: Api) -> None:
    """The account owner sees deals others own on it, but only the owner's chain sees the
    amount: here manager.east's deal on sales.east's account."""
    account_id = await account(api, "sales.east", "华东")
    deal_id = await _deal_with_quote(api, "manager.east", account_id)
    body = await api.as_user("sales.east").post(AMOUNTS, {"id": deal_id})
    assert body["data"]["opportunity"]["amount"] == MASK
    assert (await api.as_user("manager.east").post(AMOUNTS, {"id": deal_id})
            )["data"]["opportunity"]["amount"] == "5000.00"


async def test_forecasts_sum_only_the_amounts_the_reader_may_see(api: Api) -> None:
    account_id = await account(api, "sales.east", "华东")
    await _deal_with_quote(api, "manager.east", account_id)
    await _deal_with_quote(api, "sales.east", account_id)
    query = "{ forecast(period: QUARTER, category: PIPELINE, periods: 2) { amount } }"
    totals = {}
    for user in ("finance", "manager.east", "sales.east"):
        body = await api.as_user(user).post(query)
        totals[user] = sum(float(row["amount"]) for row in body["data"]["forecast"])
    assert totals == {"finance": 10000.0, "manager.east": 10000.0, "sales.east": 5000.0}
    refused = await api.as_user("service").post(query)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
# Customer operations: who lists the 华东 account's ticket, who may open one, who writes
# tag rules. "forbidden": refused by the field's permission; a number: tickets listed.
TICKET_READERS = {"admin": 1, "manager.east": 1, "sales.east": 1, "service": 1, "auditor": 1,
                  "sales.north": 0, "finance": "forbidden"}
TICKET_LIST = "{ tickets { totalCount edges { node { subject account { id } } } } }"
OPEN_TICKET = """mutation($id: ID!) { ticketCreate(input: {accountId: $id, category: "售后",
  priority: HIGH, channel: "PHONE", subject: "权限"}) { ticket { id state } } }"""


@pytest.mark.parametrize(("user", "expected"), TICKET_READERS.items())
async def test_tickets_by_role(api: Api, world: World, user: str, expected: object) -> None:
    await api.as_user("sales.east").data(OPEN_TICKET, {"id": world.east})
    body = await api.as_user(user).post(TICKET_LIST)
    if expected == "forbidden":
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        return
    assert "errors" not in body, body
    assert body["data"]["tickets"]["totalCount"] == expected
    # Opening a ticket on an account outside one's scope answers like a missing account.
    refused = await api.as_user("sales.north").post(OPEN_TICKET, {"id": world.east})
    assert refused["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert await api.scalar("SELECT count(*) FROM tickets") == 1


@pytest.mark.parametrize("user", ["manager.east", "sales.east", "finance", "service",
                                  "auditor"])
async def test_only_admins_write_or_preview_tag_rules(api: Api, user: str) -> None:
    for query in ('{ tagRulePreview(expression: "annualRevenue > 1") { matchCount } }',
                  """mutation { tagRuleCreate(input: {name: "t", layer: VALUE,
                     expression: "annualRevenue > 1"}) { tagRule { id } } }"""):
        body = await api.as_user(user).post(query)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", (user, query)
    assert await api.scalar("SELECT count(*) FROM tag_rules") == 0


async def test_inbox_shows_only_ones_own_items(api: Api, world: World) -> None:
    await api.data("""mutation { accountCreate(input: {name: "收件箱测试", uscc: "%s",
        region: "华东", industry: "x"}) { account { id } } }""" % make_uscc(  # noqa: UP031
        random.Random(next(_serial)), division="310000"))
    async with api.stores.uow(RequestMeta(actor="test")) as uow:
        from services import tasks

        sales = await api.scalar("SELECT id FROM users WHERE username = 'sales.east'")
        tasks.create(uow, user_id=sales, kind="care", title="回访",
                     due_at=api.stores.clock.now())
    mine = await api.as_user("sales.east").data(
        "{ myInbox { edges { node { __typename title } } } }")
    assert mine["myInbox"]["edges"] == [{"node": {"__typename": "UserTask", "title": "回访"}}]
    theirs = await api.as_user("sales.north").data("{ myInbox { edges { node { title } } } }")
    assert theirs["myInbox"]["edges"] == []
    anonymous = await api.anonymous.post("{ myInbox { edges { node { title } } } }")
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


DEAL_MAP = """query($id: ID!) { opportunity(id: $id) { decisionMap { nodes { id kind } } } }"""


@pytest.mark.parametrize(("user", "expected"), MAP_EXPECTED.items())
async def test_a_deals_decision_map_hides_what_the_account_map_hides(
        api: Api, world: World, user: str, expected: tuple[str, str, int] | None) -> None:
    """The same people, seated on sales.east's deal instead of the account: each reader sees
    them as on the account's map; a reader who may not see the deal gets no deal."""
    from tests.pipeline_helpers import SEAT, deal
    from tests.test_relationships_api import relate

    secret_contact = await contact(api, "admin", world.secret)
    sales = api.as_user("sales.east")
    made = await deal(sales, account=world.east)
    await sales.data(SEAT, {"input": {"accountId": world.east, "contactId": world.east_contact,
                                      "role": "DECISION_MAKER", "opportunityId": made["id"]}})
    for source in (world.north_contact, secret_contact):
        await relate(api, kind="INFLUENCES", fromId=source, toId=world.east_contact,
                     weight=0.5)
    await api.projector.drain()
    body = await api.as_user(user).post(DEAL_MAP, {"id": made["id"]})
    if expected is None:
        assert body == {"data": {"opportunity": None}}
        return
    kinds = {node["id"]: node["kind"]
             for node in body["data"]["opportunity"]["decisionMap"]["nodes"]}
    assert (kinds[world.north_contact], kinds[secret_contact]) == expected[:2]
    assert set(kinds) == {world.east_contact, world.north_contact, secret_contact}
