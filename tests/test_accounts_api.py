"""Accounts over GraphQL/HTTP: create, update, read, the rules (each refused write leaves the
ledger untouched), audit + outbox in the write's transaction, and the filtered, ordered,
cursor-paginated list."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from tests.conftest import Api
from tests.factories import (
    ACCOUNT_FIELDS,
    CREATE_ACCOUNT,
    GET_ACCOUNT,
    LEDGER_TABLES,
    UPDATE_ACCOUNT,
    account_input,
    assert_error,
    audit_rows,
    create_account,
    global_id,
    ledger_counts,
    make_account,
    new_uscc,
    outbox_rows,
    post_with_request_id,
    raw_id,
)

VALID_USCC = "91350100M000100Y43"  # a published real code

LIST_ACCOUNTS = """
query($filter: AccountFilter, $orderBy: AccountOrder, $first: Int, $after: String) {
  accounts(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
    totalCount
    edges { cursor node { id name } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""

NODE_ACCOUNT = "query($id: ID!) { node(id: $id) { id ... on Account { " + ACCOUNT_FIELDS + " } } }"


def _utc(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    assert parsed.utcoffset() == timedelta(0), f"not UTC: {value}"
    return parsed


async def _list(api: Api, **variables: Any) -> dict[str, Any]:
    connection: dict[str, Any] = (await api.data(LIST_ACCOUNTS, variables))["accounts"]
    return connection


async def _names(api: Api, **variables: Any) -> list[str]:
    connection = await _list(api, first=100, **variables)
    return [edge["node"]["name"] for edge in connection["edges"]]


# --- create / read ---------------------------------------------------------------------------

async def test_create_returns_every_field(api: Api) -> None:
    account = await create_account(
        api, name="  成都锐芯防务电子有限公司 ", uscc=f" {VALID_USCC.lower()} ", region="西南",
        industry="国防电子", tags=["军工", "重点客户", "军工"], annualRevenue="1234567.5")

    created_at = _utc(account.pop("createdAt"))
    updated_at = _utc(account.pop("updatedAt"))
    gid = account.pop("id")
    assert account == {
        "name": "成都锐芯防务电子有限公司",
        "uscc": VALID_USCC,
        "region": "西南",
        "industry": "国防电子",
        "lifecycleStage": "POTENTIAL",
        "tags": [{"name": "军工"}, {"name": "重点客户"}],
        "annualRevenue": "1234567.50",
    }
    assert updated_at == created_at
    assert abs(datetime.now(created_at.tzinfo) - created_at) < timedelta(minutes=1)
    assert gid == global_id("Account", raw_id(gid))
    uuid.UUID(raw_id(gid))
    assert await api.scalar("SELECT uscc FROM accounts WHERE id = :id",
                            id=uuid.UUID(raw_id(gid))) == VALID_USCC


async def test_create_defaults(api: Api) -> None:
    data = await api.data(CREATE_ACCOUNT, {"input": {
        "name": "北京北辰", "uscc": VALID_USCC, "region": "华北", "industry": "航空"}})
    account = data["accountCreate"]["account"]
    assert (account["lifecycleStage"], account["tags"], account["annualRevenue"]) == (
        "POTENTIAL", [], None)


async def test_create_with_explicit_stage_and_zero_revenue(api: Api) -> None:
    account = await create_account(api, lifecycleStage="CUSTOMER", annualRevenue="0")
    assert (account["lifecycleStage"], account["annualRevenue"]) == ("CUSTOMER", "0.00")


async def test_account_and_node_return_the_account(api: Api) -> None:
    created = await create_account(api, tags=["a"], annualRevenue="10.01")
    by_account = (await api.data(GET_ACCOUNT, {"id": created["id"]}))["account"]
    by_node = (await api.data(NODE_ACCOUNT, {"id": created["id"]}))["node"]
    assert by_account == created
    assert by_node == created


async def test_account_with_unknown_id_is_null(api: Api) -> None:
    await make_account(api)
    unknown = global_id("Account", str(uuid.uuid4()))
    assert await api.data(GET_ACCOUNT, {"id": unknown}) == {"account": None}
    assert await api.data(NODE_ACCOUNT, {"id": unknown}) == {"node": None}


async def test_account_with_the_id_of_another_type_is_null(api: Api) -> None:
    other = global_id("Contact", str(uuid.uuid4()))
    assert await api.data(GET_ACCOUNT, {"id": other}) == {"account": None}


MALFORMED_IDS = [
    "not-an-id",
    "",
    global_id("Account", "123"),
    "QWNjb3VudA==",  # "Account", no separator
    "//79/A==",  # not UTF-8
]


async def test_account_with_malformed_id_is_bad_user_input(api: Api) -> None:
    for bad_id in MALFORMED_IDS:
        body = await api.post(GET_ACCOUNT, {"id": bad_id})
        assert body["data"] == {"account": None}, bad_id
        assert len(body["errors"]) == 1, bad_id
        assert_error(body["errors"][0], "BAD_USER_INPUT", "id")
        assert body["errors"][0]["path"] == ["account"]


async def test_node_with_malformed_id_is_bad_user_input(api: Api) -> None:
    error = await api.error(NODE_ACCOUNT, {"id": "not-an-id"})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["path"] == ["node"]


async def test_node_and_account_agree_on_a_malformed_account_uuid(api: Api) -> None:
    """`Account:123` is malformed for account(id); node(id) must not call it "not found"."""
    bad = global_id("Account", "123")
    error = await api.error(NODE_ACCOUNT, {"id": bad})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


# --- update ----------------------------------------------------------------------------------

async def test_update_changes_only_the_given_fields(api: Api) -> None:
    created = await create_account(
        api, name="杭州云帆", region="华东", industry="软件", lifecycleStage="INTENT",
        tags=["云"], annualRevenue="100.00")

    renamed = (await api.data(UPDATE_ACCOUNT, {"input": {
        "id": created["id"], "name": "杭州云帆科技"}}))["accountUpdate"]["account"]
    assert {**created, "name": "杭州云帆科技", "updatedAt": renamed["updatedAt"]} == renamed
    assert _utc(renamed["updatedAt"]) > _utc(created["updatedAt"])

    retagged = (await api.data(UPDATE_ACCOUNT, {"input": {
        "id": created["id"], "tags": [], "annualRevenue": "7", "lifecycleStage": "CUSTOMER",
        "region": "华南", "industry": "硬件"}}))["accountUpdate"]["account"]
    assert retagged == {**renamed, "tags": [], "annualRevenue": "7.00",
                        "lifecycleStage": "CUSTOMER", "region": "华南", "industry": "硬件",
                        "updatedAt": retagged["updatedAt"]}
    assert _utc(retagged["updatedAt"]) > _utc(renamed["updatedAt"])

    assert (await api.data(GET_ACCOUNT, {"id": created["id"]}))["account"] == retagged
    assert await api.scalar("SELECT version FROM accounts") == 3


async def test_update_with_uscc_normalises_it(api: Api) -> None:
    gid = await make_account(api)
    updated = (await api.data(UPDATE_ACCOUNT, {"input": {
        "id": gid, "uscc": VALID_USCC.lower()}}))["accountUpdate"]["account"]
    assert updated["uscc"] == VALID_USCC


async def test_update_without_change_writes_nothing(api: Api) -> None:
    created = await create_account(api, tags=["x"], annualRevenue="5.00")
    before = await ledger_counts(api)
    same = (await api.data(UPDATE_ACCOUNT, {"input": {
        "id": created["id"], "name": created["name"], "uscc": created["uscc"].lower(),
        "tags": ["x"], "annualRevenue": "5"}}))["accountUpdate"]["account"]
    assert same == created
    assert await ledger_counts(api) == before
    assert await api.scalar("SELECT version FROM accounts") == 1


async def test_update_with_unknown_id_is_not_found(api: Api) -> None:
    await make_account(api)
    before = await ledger_counts(api)
    error = await api.error(UPDATE_ACCOUNT, {"input": {
        "id": global_id("Account", str(uuid.uuid4())), "name": "新名字"}})
    assert_error(error, "NOT_FOUND", "id")
    assert await ledger_counts(api) == before


async def test_update_with_malformed_id_is_bad_user_input(api: Api) -> None:
    before = await ledger_counts(api)
    error = await api.error(UPDATE_ACCOUNT, {"input": {"id": "garbage", "name": "新名字"}})
    assert_error(error, "BAD_USER_INPUT", "id")
    assert await ledger_counts(api) == before


# --- rules: each refused write leaves nothing behind ------------------------------------------

INVALID_USCCS = {
    "empty": "",
    "17 characters": VALID_USCC[:17],
    "19 characters": VALID_USCC + "0",
    "letter I": VALID_USCC[:9] + "I" + VALID_USCC[10:],
    "letter O": VALID_USCC[:9] + "O" + VALID_USCC[10:],
    "letter Z": VALID_USCC[:9] + "Z" + VALID_USCC[10:],
    "letter S": VALID_USCC[:9] + "S" + VALID_USCC[10:],
    "letter V": VALID_USCC[:9] + "V" + VALID_USCC[10:],
    "punctuation": VALID_USCC[:9] + "-" + VALID_USCC[10:],
    "wrong check digit": VALID_USCC[:17] + "4",
    "transposed digits": VALID_USCC[:2] + VALID_USCC[3] + VALID_USCC[2] + VALID_USCC[4:],
}


async def test_create_with_invalid_uscc_is_refused(api: Api) -> None:
    await make_account(api)
    before = await ledger_counts(api)
    for case, uscc in INVALID_USCCS.items():
        error = await api.error(CREATE_ACCOUNT, {"input": account_input(uscc=uscc)})
        assert error["extensions"]["code"] == "BAD_USER_INPUT", case
        assert_error(error, "BAD_USER_INPUT", "uscc")
        assert error["path"] == ["accountCreate"]
    assert await ledger_counts(api) == before


async def test_update_with_invalid_uscc_is_refused(api: Api) -> None:
    created = await create_account(api)
    before = await ledger_counts(api)
    error = await api.error(UPDATE_ACCOUNT, {"input": {
        "id": created["id"], "uscc": INVALID_USCCS["wrong check digit"], "name": "别的名字"}})
    assert_error(error, "BAD_USER_INPUT", "uscc")
    assert await ledger_counts(api) == before
    assert (await api.data(GET_ACCOUNT, {"id": created["id"]}))["account"] == created


async def test_create_with_duplicate_uscc_is_a_conflict(api: Api) -> None:
    await make_account(api, uscc=VALID_USCC)
    before = await ledger_counts(api)
    for spelling in (VALID_USCC, VALID_USCC.lower(), f"  {VALID_USCC}\t"):
        error = await api.error(CREATE_ACCOUNT, {"input": account_input(name="另一家",
                                                                         uscc=spelling)})
        assert_error(error, "CONFLICT", "uscc")
    assert await ledger_counts(api) == before


async def test_update_to_another_accounts_uscc_is_a_conflict(api: Api) -> None:
    await make_account(api, name="甲", uscc=VALID_USCC)
    other = await create_account(api, name="乙")
    before = await ledger_counts(api)
    error = await api.error(UPDATE_ACCOUNT, {"input": {
        "id": other["id"], "uscc": VALID_USCC.lower(), "name": "乙改名"}})
    assert_error(error, "CONFLICT", "uscc")
    assert await ledger_counts(api) == before
    assert (await api.data(GET_ACCOUNT, {"id": other["id"]}))["account"] == other


async def test_concurrent_creates_with_the_same_uscc_admit_exactly_one(api: Api) -> None:
    uscc = new_uscc()
    bodies = await asyncio.gather(*(
        api.post(CREATE_ACCOUNT, {"input": account_input(name=f"并发{n}", uscc=uscc)})
        for n in range(6)))
    winners = [body for body in bodies if "errors" not in body]
    losers = [body for body in bodies if "errors" in body]
    assert len(winners) == 1, bodies
    assert len(losers) == 5, bodies
    for body in losers:
        assert body["data"] is None
        assert len(body["errors"]) == 1
        assert_error(body["errors"][0], "CONFLICT", "uscc")
    winner = winners[0]["data"]["accountCreate"]["account"]
    assert await ledger_counts(api) == {
        "accounts": 1, "contacts": 0, "account_edges": 0, "audit_log": 1, "outbox": 1}
    assert await api.scalar("SELECT name FROM accounts") == winner["name"]


async def test_concurrent_updates_to_the_same_uscc_admit_exactly_one(api: Api) -> None:
    first = await make_account(api, name="甲")
    second = await make_account(api, name="乙")
    before = await ledger_counts(api)
    bodies = await asyncio.gather(*(
        api.post(UPDATE_ACCOUNT, {"input": {"id": gid, "uscc": VALID_USCC}})
        for gid in (first, second)))
    winners = [body for body in bodies if "errors" not in body]
    losers = [body for body in bodies if "errors" in body]
    assert (len(winners), len(losers)) == (1, 1), bodies
    assert_error(losers[0]["errors"][0], "CONFLICT", "uscc")
    assert winners[0]["data"]["accountUpdate"]["account"]["uscc"] == VALID_USCC
    assert await api.scalar("SELECT count(*) FROM accounts WHERE uscc = :u", u=VALID_USCC) == 1
    assert await ledger_counts(api) == {**before, "audit_log": before["audit_log"] + 1,
                                        "outbox": before["outbox"] + 1}


BAD_FIELDS: dict[str, tuple[str, Any]] = {
    "empty name": ("name", ""),
    "blank name": ("name", " \t "),
    "long name": ("name", "名" * 201),
    "unknown region": ("region", "江南"),
    "region in latin": ("region", "East"),
    "empty industry": ("industry", ""),
    "negative revenue": ("annualRevenue", "-0.01"),
    "three decimals": ("annualRevenue", "1.234"),
    "revenue too large": ("annualRevenue", "100000000000000000"),
    "NaN revenue": ("annualRevenue", "NaN"),
    "empty tag": ("tags", ["ok", ""]),
    "long tag": ("tags", ["标" * 33]),
    "21 tags": ("tags", [f"t{n}" for n in range(21)]),
    "long industry": ("industry", "i" * 65),
}


async def test_create_with_bad_field_is_refused(api: Api) -> None:
    await make_account(api)
    before = await ledger_counts(api)
    for case, (field, value) in BAD_FIELDS.items():
        error = await api.error(CREATE_ACCOUNT, {"input": {**account_input(), field: value}})
        assert error["extensions"].get("field") == field, case
        assert_error(error, "BAD_USER_INPUT", field)
    assert await ledger_counts(api) == before


async def test_update_with_bad_field_is_refused(api: Api) -> None:
    created = await create_account(api, annualRevenue="1.00")
    before = await ledger_counts(api)
    for case, (field, value) in BAD_FIELDS.items():
        error = await api.error(UPDATE_ACCOUNT, {"input": {"id": created["id"], field: value}})
        assert error["extensions"].get("field") == field, case
        assert_error(error, "BAD_USER_INPUT", field)
    assert await ledger_counts(api) == before
    assert (await api.data(GET_ACCOUNT, {"id": created["id"]}))["account"] == created


async def test_annual_revenue_is_exact_from_strings_and_json_numbers(api: Api) -> None:
    given_and_stored: list[tuple[Any, str]] = [
        ("99.100", "99.10"), ("1E+3", "1000.00"), (0.1, "0.10"), (1234.5, "1234.50"),
        (100, "100.00"), (0, "0.00"), ("99999999999999999.99", "99999999999999999.99")]
    for given, stored in given_and_stored:
        account = await create_account(api, annualRevenue=given)
        assert account["annualRevenue"] == stored, given
    before = await ledger_counts(api)
    for bad in (1.005, -0.5, "1e17"):
        error = await api.error(CREATE_ACCOUNT, {"input": account_input(annualRevenue=bad)})
        assert error["extensions"].get("field") == "annualRevenue", bad
        assert_error(error, "BAD_USER_INPUT", "annualRevenue")
    for malformed in (True, "12,5", "abc", [1]):
        error = await api.error(CREATE_ACCOUNT, {"input": account_input(annualRevenue=malformed)})
        assert error["extensions"]["code"] == "BAD_USER_INPUT", malformed
    assert await ledger_counts(api) == before


# --- audit and outbox ------------------------------------------------------------------------

async def test_create_writes_one_audit_and_one_outbox_row_in_its_transaction(api: Api) -> None:
    body, request_id = await post_with_request_id(api, CREATE_ACCOUNT, {"input": account_input(
        name="深圳海川", uscc=VALID_USCC, region="华南", industry="通信", tags=["5G"],
        annualRevenue="88.8")})
    account = body["data"]["accountCreate"]["account"]
    account_uuid = raw_id(account["id"])

    admin_id = str(await api.scalar("SELECT id FROM users WHERE username = 'admin'"))
    [audit] = await audit_rows(api)
    assert {key: audit[key] for key in
            ("actor", "operation", "target_ids", "before", "after", "ip", "request_id", "reason")
            } == {
        "actor": "admin",
        "operation": "account.create",
        "target_ids": [account_uuid],
        "before": None,
        "after": {"name": "深圳海川", "uscc": VALID_USCC, "region": "华南", "industry": "通信",
                  "lifecycleStage": "POTENTIAL", "tags": ["5G"], "annualRevenue": "88.80",
                  "classification": "INTERNAL", "ownerId": admin_id},
        "ip": "127.0.0.1",
        "request_id": request_id,
        "reason": None,
    }
    [event] = await outbox_rows(api)
    assert (event["topic"], event["aggregate_id"], event["payload"]) == (
        "account.created", account_uuid,
        {"id": account_uuid, "name": "深圳海川", "region": "华南", "industry": "通信",
         "lifecycleStage": "POTENTIAL"})
    # now() is the transaction's start time: equal stamps mean one transaction.
    assert await api.scalar(
        "SELECT count(DISTINCT t) FROM (SELECT at AS t FROM audit_log UNION ALL "
        "SELECT at FROM outbox UNION ALL SELECT created_at FROM accounts) s") == 1


async def test_incoming_request_id_is_recorded(api: Api) -> None:
    body, request_id = await post_with_request_id(
        api, CREATE_ACCOUNT, {"input": account_input()}, headers={"X-Request-ID": "trace42abc"})
    assert "errors" not in body
    assert request_id == "trace42abc"
    assert await api.scalar("SELECT request_id FROM audit_log") == "trace42abc"


async def test_an_unsafe_incoming_request_id_is_replaced(api: Api) -> None:
    body, request_id = await post_with_request_id(
        api, CREATE_ACCOUNT, {"input": account_input()}, headers={"X-Request-ID": "x'; drop"})
    assert "errors" not in body
    assert len(request_id) == 32 and int(request_id, 16) >= 0
    assert await api.scalar("SELECT request_id FROM audit_log") == request_id


async def test_update_writes_one_audit_and_one_outbox_row(api: Api) -> None:
    created = await create_account(api, name="武汉光谷", region="华中", industry="光电",
                                   uscc=VALID_USCC)
    account_uuid = raw_id(created["id"])
    body, request_id = await post_with_request_id(api, UPDATE_ACCOUNT, {"input": {
        "id": created["id"], "lifecycleStage": "LOYAL", "annualRevenue": "1"}})
    assert "errors" not in body, body

    audits = await audit_rows(api)
    assert [row["operation"] for row in audits] == ["account.create", "account.update"]
    update = audits[1]
    admin_id = str(await api.scalar("SELECT id FROM users WHERE username = 'admin'"))
    snapshot: dict[str, Any] = {
        "name": "武汉光谷", "uscc": VALID_USCC, "region": "华中", "industry": "光电",
        "lifecycleStage": "POTENTIAL", "tags": [], "annualRevenue": None,
        "classification": "INTERNAL", "ownerId": admin_id}
    assert (update["target_ids"], update["before"], update["after"], update["request_id"]) == (
        [account_uuid], snapshot,
        {**snapshot, "lifecycleStage": "LOYAL", "annualRevenue": "1.00"}, request_id)

    events = await outbox_rows(api)
    assert [(row["topic"], row["aggregate_id"]) for row in events] == [
        ("account.created", account_uuid), ("account.updated", account_uuid)]
    assert events[1]["payload"] == {"id": account_uuid, "name": "武汉光谷", "region": "华中",
                                    "industry": "光电", "lifecycleStage": "LOYAL"}
    assert await api.scalar(
        "SELECT a.at = o.at FROM audit_log a, outbox o WHERE a.id = 2 AND o.id = :id",
        id=events[1]["id"]) is True


async def test_refused_request_errors_carry_the_request_id(api: Api) -> None:
    body, request_id = await post_with_request_id(
        api, CREATE_ACCOUNT, {"input": account_input(region="江南")})
    assert len(body["errors"]) == 1
    assert body["errors"][0]["extensions"] == {
        "code": "BAD_USER_INPUT", "field": "region", "requestId": request_id}


async def test_request_errors_carry_the_request_id(api: Api) -> None:
    requests: list[tuple[str, dict[str, Any]]] = [
        ("{ accounts { nope } }", {}),  # validation
        ("{ accounts {", {}),  # syntax
        ("query($f: Int) { accounts(first: $f) { totalCount } }", {"f": "abc"}),  # coercion
        (CREATE_ACCOUNT, {"input": account_input(annualRevenue="abc")}),  # scalar parsing
    ]
    for query, variables in requests:
        body, request_id = await post_with_request_id(api, query, variables)
        assert body["data"] is None, query
        assert len(body["errors"]) == 1, query
        assert body["errors"][0]["extensions"] == {
            "code": "BAD_USER_INPUT", "requestId": request_id}, query
    assert await ledger_counts(api) == {table: 0 for table in LEDGER_TABLES}


# --- list: filters ---------------------------------------------------------------------------

async def test_name_contains_is_a_case_insensitive_literal_substring(api: Api) -> None:
    for name in ("100% Steel", "100 Steel", "Steelworks", "A_B Trading", "AXB Trading",
                 "back\\slash", "北京钢铁"):
        await make_account(api, name=name)

    assert await _names(api, filter={"nameContains": "steel"}) == [
        "100 Steel", "100% Steel", "Steelworks"]
    assert await _names(api, filter={"nameContains": "STEELW"}) == ["Steelworks"]
    assert await _names(api, filter={"nameContains": "0%"}) == ["100% Steel"]
    assert await _names(api, filter={"nameContains": "%"}) == ["100% Steel"]
    assert await _names(api, filter={"nameContains": "a_b"}) == ["A_B Trading"]
    assert await _names(api, filter={"nameContains": "_"}) == ["A_B Trading"]
    assert await _names(api, filter={"nameContains": "\\"}) == ["back\\slash"]
    assert await _names(api, filter={"nameContains": "钢铁"}) == ["北京钢铁"]
    assert await _names(api, filter={"nameContains": "nothing"}) == []
    assert (await _list(api, filter={"nameContains": "steel"}))["totalCount"] == 3


async def test_filters_by_region_industry_stage_tag_and_combined(api: Api) -> None:
    rows = [
        ("Aurora", "华东", "软件", "POTENTIAL", ["军工", "重点"]),
        ("Beacon", "华东", "软件", "CUSTOMER", ["重点"]),
        ("Cobalt", "华北", "软件", "CUSTOMER", ["军工"]),
        ("Dynamo", "华东", "硬件", "CUSTOMER", ["军工"]),
        ("Ember", "西北", "硬件", "CHURNED", []),
        ("Falcon", "华东", "软件", "CUSTOMER", ["军工", "新"]),
    ]
    for name, region, industry, stage, tags in rows:
        await make_account(api, name=name, region=region, industry=industry,
                           lifecycleStage=stage, tags=tags)

    expectations: list[tuple[dict[str, Any], list[str]]] = [
        ({}, ["Aurora", "Beacon", "Cobalt", "Dynamo", "Ember", "Falcon"]),
        ({"region": "华东"}, ["Aurora", "Beacon", "Dynamo", "Falcon"]),
        ({"region": "东北"}, []),
        ({"industry": "硬件"}, ["Dynamo", "Ember"]),
        ({"lifecycleStage": "CUSTOMER"}, ["Beacon", "Cobalt", "Dynamo", "Falcon"]),
        ({"tag": "军工"}, ["Aurora", "Cobalt", "Dynamo", "Falcon"]),
        ({"tag": "军"}, []),
        ({"region": "华东", "industry": "软件", "lifecycleStage": "CUSTOMER", "tag": "军工"},
         ["Falcon"]),
        ({"region": "华东", "tag": "重点", "nameContains": "a"}, ["Aurora", "Beacon"]),
        ({"region": "华北", "industry": "硬件"}, []),
    ]
    for given, names in expectations:
        connection = await _list(api, filter=given, first=100)
        assert [edge["node"]["name"] for edge in connection["edges"]] == names, given
        assert connection["totalCount"] == len(names), given


# --- list: order and pagination --------------------------------------------------------------

# name, revenue; created in this order. Duplicate names and revenues test the id tie-break.
SEVEN = [
    ("Delta", None),
    ("Alpha", "500.00"),
    ("Echo", None),
    ("Foxtrot", "0.00"),
    ("Bravo", "500.00"),
    ("Echo", "12.50"),
    ("Charlie", "99999.99"),
]


async def _seven(api: Api) -> list[dict[str, Any]]:
    """The accounts of SEVEN with their creation rank, revenue and database id."""
    made = []
    for rank, (name, revenue) in enumerate(SEVEN):
        gid = await make_account(api, name=name, annualRevenue=revenue)
        made.append({"gid": gid, "name": name, "rank": rank, "uuid": uuid.UUID(raw_id(gid)),
                     "revenue": Decimal(-1) if revenue is None else Decimal(revenue)})
    return made


def _expected(made: list[dict[str, Any]], field: str, direction: str) -> list[str]:
    key = {"NAME": "name", "CREATED_AT": "rank", "ANNUAL_REVENUE": "revenue"}[field]
    ordered = sorted(made, key=lambda row: (row[key], row["uuid"]))
    if direction == "DESC":
        ordered.reverse()
    return [row["gid"] for row in ordered]


ORDERS = [(field, direction) for field in ("NAME", "CREATED_AT", "ANNUAL_REVENUE")
          for direction in ("ASC", "DESC")]


async def test_order_by_every_key_and_direction(api: Api) -> None:
    made = await _seven(api)
    for field, direction in ORDERS:
        connection = await _list(api, orderBy={"field": field, "direction": direction})
        assert [edge["node"]["id"] for edge in connection["edges"]] == _expected(
            made, field, direction), (field, direction)
    default = await _list(api)
    assert [edge["node"]["id"] for edge in default["edges"]] == _expected(made, "NAME", "ASC")


async def test_null_revenue_sorts_lowest(api: Api) -> None:
    await _seven(api)
    ascending = await _names(api, orderBy={"field": "ANNUAL_REVENUE", "direction": "ASC"})
    descending = await _names(api, orderBy={"field": "ANNUAL_REVENUE", "direction": "DESC"})
    assert sorted(ascending[:2]) == ["Delta", "Echo"]
    assert ascending[2:4] == ["Foxtrot", "Echo"]
    assert sorted(ascending[4:6]) == ["Alpha", "Bravo"]
    assert ascending[6] == "Charlie"
    assert descending == list(reversed(ascending))


async def test_cursor_pagination_walks_every_page(api: Api) -> None:
    made = await _seven(api)
    for field, direction in ORDERS:
        order = {"field": field, "direction": direction}
        seen: list[str] = []
        after: str | None = None
        pages = []
        while True:
            connection = await _list(api, orderBy=order, first=3, after=after)
            edges = connection["edges"]
            pages.append(len(edges))
            assert connection["totalCount"] == 7
            info = connection["pageInfo"]
            assert info == {
                "hasNextPage": len(seen) + len(edges) < 7,
                "hasPreviousPage": after is not None,
                "startCursor": edges[0]["cursor"],
                "endCursor": edges[-1]["cursor"],
            }, order
            seen.extend(edge["node"]["id"] for edge in edges)
            if not info["hasNextPage"]:
                break
            after = info["endCursor"]
        assert pages == [3, 3, 1], order
        assert seen == _expected(made, field, direction), order


async def test_every_edge_cursor_resumes_right_after_its_edge(api: Api) -> None:
    made = await _seven(api)
    order = {"field": "ANNUAL_REVENUE", "direction": "ASC"}
    expected = _expected(made, "ANNUAL_REVENUE", "ASC")
    full = await _list(api, orderBy=order, first=7)
    assert full["pageInfo"]["hasNextPage"] is False
    for index, edge in enumerate(full["edges"]):
        rest = await _list(api, orderBy=order, first=100, after=edge["cursor"])
        assert [item["node"]["id"] for item in rest["edges"]] == expected[index + 1:]
        assert rest["totalCount"] == 7


async def test_last_page_cursor_gives_an_empty_page(api: Api) -> None:
    await _seven(api)
    first_page = await _list(api, first=7)
    empty = await _list(api, first=3, after=first_page["pageInfo"]["endCursor"])
    assert empty == {"totalCount": 7, "edges": [], "pageInfo": {
        "hasNextPage": False, "hasPreviousPage": True, "startCursor": None, "endCursor": None}}


async def test_pagination_with_a_filter_and_total_count(api: Api) -> None:
    for n in range(5):
        await make_account(api, name=f"East {n}", region="华东")
        await make_account(api, name=f"North {n}", region="华北")
    page1 = await _list(api, filter={"region": "华北"}, first=2)
    page2 = await _list(api, filter={"region": "华北"}, first=2,
                        after=page1["pageInfo"]["endCursor"])
    page3 = await _list(api, filter={"region": "华北"}, first=2,
                        after=page2["pageInfo"]["endCursor"])
    names = [[edge["node"]["name"] for edge in page["edges"]] for page in (page1, page2, page3)]
    assert names == [["North 0", "North 1"], ["North 2", "North 3"], ["North 4"]]
    assert [page["totalCount"] for page in (page1, page2, page3)] == [5, 5, 5]
    assert [page["pageInfo"]["hasNextPage"] for page in (page1, page2, page3)] == [
        True, True, False]


async def test_first_100_is_allowed(api: Api) -> None:
    await make_account(api)
    connection = await _list(api, first=100)
    assert (len(connection["edges"]), connection["pageInfo"]["hasNextPage"]) == (1, False)


async def test_default_page_size_is_20(api: Api) -> None:
    for n in range(21):
        await make_account(api, name=f"Co {n:02d}")
    connection = await api.data("{ accounts { totalCount edges { node { name } } "
                                "pageInfo { hasNextPage } } }")
    names = [edge["node"]["name"] for edge in connection["accounts"]["edges"]]
    assert names == [f"Co {n:02d}" for n in range(20)]
    assert connection["accounts"]["totalCount"] == 21
    assert connection["accounts"]["pageInfo"]["hasNextPage"] is True


async def test_first_out_of_range_is_refused(api: Api) -> None:
    await make_account(api)
    for first in (101, 1000, -1):
        body = await api.post(LIST_ACCOUNTS, {"first": first})
        assert body["data"] is None, first
        assert len(body["errors"]) == 1, first
        assert_error(body["errors"][0], "BAD_USER_INPUT", "first")


GARBAGE_CURSORS = [
    "garbage",
    "",
    "!!!",
    "WyJhY2NvdW50czpuYW1lOjAiXQ",  # ["accounts:name:0"]: too short
    "WyJhY2NvdW50czpuYW1lOjAiLCAieCIsICJub3QtYS11dWlkIl0",  # bad row id
]


async def test_garbage_after_is_refused(api: Api) -> None:
    await make_account(api)
    for after in GARBAGE_CURSORS:
        error = await api.error(LIST_ACCOUNTS, {"first": 3, "after": after})
        assert error["extensions"].get("field") == "after", after
        assert_error(error, "BAD_USER_INPUT", "after")


async def test_a_cursor_from_another_ordering_is_refused(api: Api) -> None:
    await _seven(api)
    by_name = (await _list(api, first=2))["pageInfo"]["endCursor"]
    for field, direction in ORDERS[1:]:
        error = await api.error(LIST_ACCOUNTS, {
            "first": 2, "after": by_name, "orderBy": {"field": field, "direction": direction}})
        assert_error(error, "BAD_USER_INPUT", "after")


async def test_a_contact_cursor_is_refused_by_the_account_list(api: Api) -> None:
    gid = await make_account(api)
    for name in ("Li", "Wang"):
        await api.data("mutation($i: ContactCreateInput!) { contactCreate(input: $i) "
                       "{ contact { id } } }", {"i": {"accountId": gid, "name": name}})
    data = await api.data("query($id: ID!) { account(id: $id) { contacts(first: 1) "
                          "{ pageInfo { endCursor } } } }", {"id": gid})
    cursor = data["account"]["contacts"]["pageInfo"]["endCursor"]
    error = await api.error(LIST_ACCOUNTS, {"first": 3, "after": cursor})
    assert_error(error, "BAD_USER_INPUT", "after")
