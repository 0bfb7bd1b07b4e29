"""Contacts over GraphQL/HTTP: create under an account, update (omitted stays, null clears),
delete, the per-account connection, and an audit trail without personal data."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

from tests.conftest import Api
from tests.factories import (
    CONTACT_FIELDS,
    CREATE_CONTACT,
    DELETE_CONTACT,
    GET_CONTACT,
    UPDATE_CONTACT,
    assert_error,
    audit_rows,
    create_contact,
    global_id,
    ledger_counts,
    make_account,
    make_contact,
    outbox_rows,
    post_with_request_id,
    raw_id,
)

PHONE = "+86 138-0013-8000"
EMAIL = "zhang.wei@example.cn"

NODE_CONTACT = "query($id: ID!) { node(id: $id) { id ... on Contact { " + CONTACT_FIELDS + " } } }"

ACCOUNT_CONTACTS = """
query($id: ID!, $first: Int, $after: String) {
  account(id: $id) {
    contacts(first: $first, after: $after) {
      totalCount
      edges { cursor node { id name } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
}"""

BAD_CONTACT_FIELDS: dict[str, tuple[str, Any]] = {
    "empty name": ("name", ""),
    "blank name": ("name", "   "),
    "long name": ("name", "名" * 101),
    "long title": ("title", "长" * 101),
    "letters as phone": ("phone", "call me"),
    "short phone": ("phone", "12345"),
    "phone with letters": ("phone", "138-0013-80OO"),
    "email without @": ("email", "zhang.example.cn"),
    "email without domain dot": ("email", "zhang@example"),
    "email with space": ("email", "zhang wei@example.cn"),
    "email with two @": ("email", "a@b@example.cn"),
    "email longer than 254": ("email", "a" * 64 + "@" + "b" * 190 + ".cn"),
}


def _utc(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    assert parsed.utcoffset() == timedelta(0), f"not UTC: {value}"
    return parsed


async def _contacts(api: Api, account_id: str, **variables: Any) -> dict[str, Any]:
    data = await api.data(ACCOUNT_CONTACTS, {"id": account_id, **variables})
    connection: dict[str, Any] = data["account"]["contacts"]
    return connection


async def _get(api: Api, contact_id: str) -> dict[str, Any] | None:
    contact: dict[str, Any] | None = (await api.data(GET_CONTACT, {"id": contact_id}))["contact"]
    return contact


# --- create / read ---------------------------------------------------------------------------

async def test_create_returns_every_field(api: Api) -> None:
    account_id = await make_account(api)
    contact = await create_contact(api, account_id, name="  张  伟 ", title=" 采购部 经理 ",
                                   phone=f"  {PHONE} ", email=f" {EMAIL} ")
    created_at = _utc(contact.pop("createdAt"))
    assert _utc(contact.pop("updatedAt")) == created_at
    gid = contact.pop("id")
    assert gid == global_id("Contact", raw_id(gid))
    assert contact == {"name": "张 伟", "title": "采购部 经理", "phone": PHONE, "email": EMAIL,
                       "account": {"id": account_id}}


async def test_create_with_only_a_name(api: Api) -> None:
    account_id = await make_account(api)
    contact = await create_contact(api, account_id, name="李娜", title="", phone=" ", email="")
    assert (contact["title"], contact["phone"], contact["email"]) == (None, None, None)


async def test_contact_and_node_return_the_contact(api: Api) -> None:
    account_id = await make_account(api)
    created = await create_contact(api, account_id, title="总工", phone=PHONE, email=EMAIL)
    assert await _get(api, created["id"]) == created
    assert (await api.data(NODE_CONTACT, {"id": created["id"]}))["node"] == created


async def test_contact_with_unknown_or_foreign_id_is_null(api: Api) -> None:
    account_id = await make_account(api)
    await make_contact(api, account_id)
    assert await _get(api, global_id("Contact", str(uuid.uuid4()))) is None
    assert await _get(api, account_id) is None
    assert (await api.data(NODE_CONTACT, {"id": global_id("Contact", str(uuid.uuid4()))})) == {
        "node": None}


async def test_contact_with_malformed_id_is_bad_user_input(api: Api) -> None:
    for bad_id in ("nope", global_id("Contact", "42")):
        body = await api.post(GET_CONTACT, {"id": bad_id})
        assert body["data"] == {"contact": None}, bad_id
        assert len(body["errors"]) == 1, bad_id
        assert_error(body["errors"][0], "BAD_USER_INPUT", "id")


async def test_create_under_an_unknown_account_is_not_found(api: Api) -> None:
    account_id = await make_account(api)
    contact_id = await make_contact(api, account_id)
    before = await ledger_counts(api)
    for missing in (global_id("Account", str(uuid.uuid4())), contact_id):
        error = await api.error(CREATE_CONTACT, {"input": {"accountId": missing, "name": "王芳"}})
        assert_error(error, "NOT_FOUND", "accountId")
    assert await ledger_counts(api) == before


async def test_create_under_a_malformed_account_id_is_bad_user_input(api: Api) -> None:
    await make_account(api)
    before = await ledger_counts(api)
    for bad_id in ("garbage", global_id("Account", "x")):
        error = await api.error(CREATE_CONTACT, {"input": {"accountId": bad_id, "name": "王芳"}})
        assert_error(error, "BAD_USER_INPUT", "accountId")
    assert await ledger_counts(api) == before


async def test_create_with_a_bad_field_is_refused(api: Api) -> None:
    account_id = await make_account(api)
    await make_contact(api, account_id)
    before = await ledger_counts(api)
    for case, (field, value) in BAD_CONTACT_FIELDS.items():
        error = await api.error(CREATE_CONTACT, {"input": {
            "accountId": account_id, "name": "王芳", field: value}})
        assert error["extensions"].get("field") == field, case
        assert_error(error, "BAD_USER_INPUT", field)
    assert await ledger_counts(api) == before


# --- update ----------------------------------------------------------------------------------

async def _update(api: Api, contact_id: str, **changes: Any) -> dict[str, Any]:
    data = await api.data(UPDATE_CONTACT, {"input": {"id": contact_id, **changes}})
    contact: dict[str, Any] = data["contactUpdate"]["contact"]
    return contact


async def test_update_changes_only_the_given_fields(api: Api) -> None:
    account_id = await make_account(api)
    created = await create_contact(api, account_id, name="赵磊", title="工程师", phone=PHONE,
                                   email=EMAIL)
    retitled = await _update(api, created["id"], title="总工程师")
    assert retitled == {**created, "title": "总工程师", "updatedAt": retitled["updatedAt"]}
    assert _utc(retitled["updatedAt"]) > _utc(created["updatedAt"])

    renamed = await _update(api, created["id"], name="赵 磊", email="zhao@example.cn")
    assert renamed == {**retitled, "name": "赵 磊", "email": "zhao@example.cn",
                       "updatedAt": renamed["updatedAt"]}
    assert await _get(api, created["id"]) == renamed
    assert await api.scalar("SELECT version FROM contacts") == 3


async def test_update_with_explicit_null_clears(api: Api) -> None:
    account_id = await make_account(api)
    for field in ("title", "phone", "email"):
        created = await create_contact(api, account_id, name=f"清空{field}", title="经理",
                                       phone=PHONE, email=EMAIL)
        cleared = await _update(api, created["id"], **{field: None})
        assert cleared == {**created, field: None, "updatedAt": cleared["updatedAt"]}, field
        assert await _get(api, created["id"]) == cleared


async def test_update_without_change_writes_nothing(api: Api) -> None:
    account_id = await make_account(api)
    created = await create_contact(api, account_id, name="孙悦", phone=PHONE)
    before = await ledger_counts(api)
    same = await _update(api, created["id"], name=" 孙悦 ", phone=PHONE, email=None)
    assert same == created
    # No write: the only new record is the audit of the phone read back in the payload.
    assert await ledger_counts(api) == {**before, "audit_log": before["audit_log"] + 1}
    [read] = (await audit_rows(api))[before["audit_log"]:]
    assert (read["operation"], read["after"]) == ("read.sensitive", {"reads": [
        {"type": "Contact", "field": "phone", "outcome": "clear",
         "records": [raw_id(created["id"])]}]})
    assert await api.scalar("SELECT version FROM contacts") == 1


async def test_update_with_a_bad_field_is_refused(api: Api) -> None:
    account_id = await make_account(api)
    created = await create_contact(api, account_id, title="经理", phone=PHONE, email=EMAIL)
    before = await ledger_counts(api)
    cases = {**BAD_CONTACT_FIELDS, "null name": ("name", None)}
    for case, (field, value) in cases.items():
        error = await api.error(UPDATE_CONTACT, {"input": {"id": created["id"], field: value}})
        assert error["extensions"].get("field") == field, case
        assert_error(error, "BAD_USER_INPUT", field)
    assert await ledger_counts(api) == before
    assert await _get(api, created["id"]) == created


async def test_update_with_unknown_or_malformed_id(api: Api) -> None:
    account_id = await make_account(api)
    await make_contact(api, account_id)
    before = await ledger_counts(api)
    error = await api.error(UPDATE_CONTACT, {"input": {
        "id": global_id("Contact", str(uuid.uuid4())), "name": "无名"}})
    assert_error(error, "NOT_FOUND", "id")
    error = await api.error(UPDATE_CONTACT, {"input": {"id": "garbage", "name": "无名"}})
    assert_error(error, "BAD_USER_INPUT", "id")
    assert await ledger_counts(api) == before


# --- delete ----------------------------------------------------------------------------------

async def test_delete_removes_the_contact_once(api: Api) -> None:
    account_id = await make_account(api)
    keep = await make_contact(api, account_id, name="留下")
    gone = await make_contact(api, account_id, name="离开", phone=PHONE, email=EMAIL)

    data = await api.data(DELETE_CONTACT, {"input": {"id": gone}})
    assert data == {"contactDelete": {"deletedContactId": gone}}
    assert await _get(api, gone) is None
    assert await _get(api, keep) is not None
    connection = await _contacts(api, account_id)
    assert connection["totalCount"] == 1
    assert [edge["node"]["id"] for edge in connection["edges"]] == [keep]

    before = await ledger_counts(api)
    error = await api.error(DELETE_CONTACT, {"input": {"id": gone}})
    assert_error(error, "NOT_FOUND", "id")
    error = await api.error(DELETE_CONTACT, {"input": {"id": "garbage"}})
    assert_error(error, "BAD_USER_INPUT", "id")
    assert await ledger_counts(api) == before


# --- audit and outbox ------------------------------------------------------------------------

async def test_every_contact_write_is_audited_without_personal_data(api: Api) -> None:
    account_id = await make_account(api)
    account_uuid = raw_id(account_id)
    audits_before = len(await audit_rows(api))
    events_before = len(await outbox_rows(api))

    body, create_request = await post_with_request_id(api, CREATE_CONTACT, {"input": {
        "accountId": account_id, "name": "周敏", "title": "处长", "phone": PHONE,
        "email": EMAIL}})
    contact_id = body["data"]["contactCreate"]["contact"]["id"]
    contact_uuid = raw_id(contact_id)
    body, update_request = await post_with_request_id(api, UPDATE_CONTACT, {"input": {
        "id": contact_id, "phone": "+86 139 0000 1111", "email": None}})
    assert "errors" not in body, body
    body, delete_request = await post_with_request_id(api, DELETE_CONTACT, {"input": {
        "id": contact_id}})
    assert "errors" not in body, body

    view = {"accountId": account_uuid, "name": "周敏", "title": "处长", "hasPhone": True,
            "hasEmail": True, "hasIdNumber": False, "department": None, "worksSince": None,
            "worksUntil": None}

    def read(field: str) -> dict[str, object]:
        return {"type": "Contact", "field": field, "outcome": "clear", "records": [contact_uuid]}

    audits = (await audit_rows(api))[audits_before:]
    # The payloads read phone/email back (the cleared email is null, so not a read): each
    # such operation adds one read.sensitive record after its write.
    assert [(row["operation"], row["target_ids"], row["before"], row["after"],
             row["request_id"]) for row in audits] == [
        ("contact.create", [contact_uuid, account_uuid], None, view, create_request),
        ("read.sensitive", [contact_uuid], None, {"reads": [read("phone"), read("email")]},
         create_request),
        ("contact.update", [contact_uuid, account_uuid], view,
         {**view, "hasEmail": False, "changedFields": ["phone", "email"]}, update_request),
        ("read.sensitive", [contact_uuid], None, {"reads": [read("phone")]}, update_request),
        ("contact.delete", [contact_uuid, account_uuid], {**view, "hasEmail": False}, None,
         delete_request),
    ]
    events = (await outbox_rows(api))[events_before:]
    assert [(row["topic"], row["aggregate_id"]) for row in events] == [
        ("contact.created", contact_uuid), ("contact.updated", contact_uuid),
        ("contact.deleted", contact_uuid)]
    assert [row["payload"] for row in events] == [
        {"id": contact_uuid, "accountId": account_uuid, "name": "周敏", "title": "处长"},
        {"id": contact_uuid, "accountId": account_uuid, "name": "周敏", "title": "处长"},
        {"id": contact_uuid},
    ]

    ledger_text = json.dumps([audits, events], ensure_ascii=False)
    for secret in (PHONE, "13800138000", "138-0013-8000", "+86 139 0000 1111", EMAIL,
                   "zhang.wei"):
        assert secret not in ledger_text, secret
    # …and not in any other column either.
    assert await api.scalar(
        "SELECT count(*) FROM audit_log a WHERE a::text LIKE '%138-0013%' "
        "OR a::text LIKE '%0000 1111%' OR a::text LIKE '%example.cn%'") == 0
    # Each write's audit record and event were stamped by the same transaction (the n-th write
    # record goes with the n-th event; read records have no event).
    assert await api.scalar(
        "SELECT count(*) FILTER (WHERE a.at <> o.at) FROM "
        "(SELECT at, row_number() OVER (ORDER BY id) AS n FROM audit_log "
        " WHERE operation <> 'read.sensitive') a "
        "FULL JOIN (SELECT at, row_number() OVER (ORDER BY id) AS n FROM outbox) o USING (n)"
    ) == 0
    assert await api.scalar(
        "SELECT count(*) FROM audit_log WHERE operation <> 'read.sensitive'"
    ) == await api.scalar("SELECT count(*) FROM outbox")


async def test_a_phone_only_change_is_visible_in_the_audit(api: Api) -> None:
    """audit_view promises the trail "records that they changed, not them": replacing one
    number by another must leave a trace that tells this update apart from a no-op."""
    account_id = await make_account(api)
    contact_id = await make_contact(api, account_id, name="吴刚", phone=PHONE)
    changed = await _update(api, contact_id, phone="+86 139 0000 1111")
    assert changed["phone"] == "+86 139 0000 1111"
    update, read = (await audit_rows(api))[-2:]
    assert update["operation"] == "contact.update"
    assert update["before"] != update["after"]
    # The payload's phone read back is audited after the write, by reference only.
    assert (read["operation"], read["after"]) == ("read.sensitive", {"reads": [
        {"type": "Contact", "field": "phone", "outcome": "clear",
         "records": [raw_id(contact_id)]}]})
    for row in (update, read):
        assert "0000 1111" not in json.dumps(row, ensure_ascii=False)
        assert "138-0013" not in json.dumps(row, ensure_ascii=False)


# --- the account's contacts connection -------------------------------------------------------

# Created in this order; listed by (name, id). "Li" twice tests the id tie-break.
PEOPLE = ["Zhao", "Li", "Wang", "Chen", "Liu", "Li", "Zhang"]


async def _people(api: Api, account_id: str) -> list[str]:
    """Contact global ids in the order the connection must list them."""
    made = []
    for name in PEOPLE:
        gid = await make_contact(api, account_id, name=name)
        made.append((name, uuid.UUID(raw_id(gid)), gid))
    return [gid for _, _, gid in sorted(made)]


async def test_contacts_are_listed_by_name_and_paginated(api: Api) -> None:
    account_id = await make_account(api)
    other_id = await make_account(api, name="别家")
    await make_contact(api, other_id, name="Aaron")
    expected = await _people(api, account_id)

    seen: list[str] = []
    after: str | None = None
    pages = []
    while True:
        connection = await _contacts(api, account_id, first=3, after=after)
        edges = connection["edges"]
        pages.append([edge["node"]["name"] for edge in edges])
        assert connection["totalCount"] == 7
        info = connection["pageInfo"]
        assert info == {
            "hasNextPage": len(seen) + len(edges) < 7,
            "hasPreviousPage": after is not None,
            "startCursor": edges[0]["cursor"],
            "endCursor": edges[-1]["cursor"],
        }
        seen.extend(edge["node"]["id"] for edge in edges)
        if not info["hasNextPage"]:
            break
        after = info["endCursor"]
    assert pages == [["Chen", "Li", "Li"], ["Liu", "Wang", "Zhang"], ["Zhao"]]
    assert seen == expected

    everything = await _contacts(api, account_id)
    assert [edge["node"]["id"] for edge in everything["edges"]] == expected
    assert everything["pageInfo"]["hasNextPage"] is False


async def test_contacts_of_several_accounts_in_one_request(api: Api) -> None:
    first_id = await make_account(api, name="Account A")
    second_id = await make_account(api, name="Account B")
    await make_account(api, name="Account C")
    for name in ("Wu", "Qian", "Sun"):
        await make_contact(api, first_id, name=name)
    for name in ("Zhou", "Feng"):
        await make_contact(api, second_id, name=name)

    data = await api.data("""{ accounts { edges { node { name
        contacts(first: 2) { totalCount edges { node { name } } pageInfo { hasNextPage } }
    } } } }""")
    listed = {
        edge["node"]["name"]: (
            [item["node"]["name"] for item in edge["node"]["contacts"]["edges"]],
            edge["node"]["contacts"]["totalCount"],
            edge["node"]["contacts"]["pageInfo"]["hasNextPage"],
        )
        for edge in data["accounts"]["edges"]
    }
    assert listed == {
        "Account A": (["Qian", "Sun"], 3, True),
        "Account B": (["Feng", "Zhou"], 2, False),
        "Account C": ([], 0, False),
    }


async def test_contacts_connection_refuses_bad_arguments(api: Api) -> None:
    account_id = await make_account(api)
    await make_contact(api, account_id, name="Li")
    await make_contact(api, account_id, name="Wang")
    accounts_cursor = (await api.data("{ accounts(first: 1) { pageInfo { endCursor } } }"))[
        "accounts"]["pageInfo"]["endCursor"]

    for first in (101, -1):
        body = await api.post(ACCOUNT_CONTACTS, {"id": account_id, "first": first})
        assert body["data"] == {"account": None}, first
        assert len(body["errors"]) == 1, first
        assert_error(body["errors"][0], "BAD_USER_INPUT", "first")
    for after in ("garbage", accounts_cursor):
        body = await api.post(ACCOUNT_CONTACTS, {"id": account_id, "first": 1, "after": after})
        assert body["data"] == {"account": None}, after
        assert len(body["errors"]) == 1, after
        assert_error(body["errors"][0], "BAD_USER_INPUT", "after")

    hundred = await _contacts(api, account_id, first=100)
    assert [edge["node"]["name"] for edge in hundred["edges"]] == ["Li", "Wang"]
