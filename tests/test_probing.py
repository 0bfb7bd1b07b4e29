"""Probing ids outside one's scope is answered exactly like a missing id (NOT_FOUND or null),
and leaves a `denied` audit record when the record exists, even though writes roll back."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from tests.conftest import Api
from tests.factories import (
    DELETE_CONTACT,
    UPDATE_ACCOUNT,
    UPDATE_CONTACT,
    audit_rows,
    global_id,
    ledger_counts,
    make_account,
    make_contact,
    raw_id,
)

LINK = """mutation($c: ID!, $p: ID!) { accountLinkParent(input: {childId: $c, parentId: $p,
  sharePct: 30}) { sharePct } }"""
CREATE_CONTACT = """mutation($a: ID!) { contactCreate(input: {accountId: $a, name: "赵六"}) {
  contact { id } } }"""


def _missing(type_name: str) -> str:
    return global_id(type_name, str(uuid.uuid4()))


def _without_request_id(body: dict[str, Any]) -> dict[str, Any]:
    errors = [{**error, "extensions": {key: value for key, value in error["extensions"].items()
                                       if key != "requestId"}} for error in body["errors"]]
    return {**body, "errors": errors}


async def _denied(api: Api) -> list[tuple[str | None, list[str], dict[str, Any]]]:
    return [(row["actor"], row["target_ids"], row["after"]) for row in await audit_rows(api)
            if row["operation"] == "denied"]


async def test_lookups_out_of_scope_look_missing_and_are_audited(api: Api) -> None:
    east = await make_account(api.as_user("sales.east"), region="华东")
    contact = await make_contact(api.as_user("sales.east"), east)
    north = api.as_user("sales.north")
    queries = {
        "account": "query($id: ID!) { account(id: $id) { id name } }",
        "contact": "query($id: ID!) { contact(id: $id) { id name } }",
        "node": "query($id: ID!) { node(id: $id) { id } }",
    }
    for field, query in queries.items():
        for probe in ({"account": east, "contact": contact, "node": east}[field],
                      _missing("Contact" if field == "contact" else "Account")):
            assert await north.post(query, {"id": probe}) == {"data": {field: None}}
    assert await _denied(api) == [
        ("sales.north", [raw_id(east)], {"operation": "account.read", "reason": "outOfScope"}),
        ("sales.north", [raw_id(contact)], {"operation": "contact.read",
                                            "reason": "outOfScope"}),
        ("sales.north", [raw_id(east)], {"operation": "account.read", "reason": "outOfScope"}),
    ]


async def test_writes_out_of_scope_look_missing_and_are_audited(api: Api) -> None:
    east = await make_account(api.as_user("sales.east"), region="华东")
    contact = await make_contact(api.as_user("sales.east"), east)
    own = await make_account(api.as_user("sales.north"), region="华北", name="华北自有公司")
    north = api.as_user("sales.north")
    before = await ledger_counts(api)
    attempts: list[tuple[str, Callable[[str], dict[str, Any]], str, str, str]] = [
        (UPDATE_ACCOUNT, lambda i: {"input": {"id": i, "name": "改名"}}, east, "Account",
         "account.update"),
        (UPDATE_CONTACT, lambda i: {"input": {"id": i, "name": "改名"}}, contact, "Contact",
         "contact.update"),
        (DELETE_CONTACT, lambda i: {"input": {"id": i}}, contact, "Contact", "contact.delete"),
        (CREATE_CONTACT, lambda i: {"a": i}, east, "Account", "contact.create"),
        (LINK, lambda i: {"c": own, "p": i}, east, "Account", "account.linkParent"),
    ]
    expected = []
    for mutation, variables, hidden, type_name, operation in attempts:
        refused = await north.post(mutation, variables(hidden))
        missing = await north.post(mutation, variables(_missing(type_name)))
        assert refused["errors"][0]["extensions"]["code"] == "NOT_FOUND", refused
        assert _without_request_id(refused) == _without_request_id(missing)
        expected.append(("sales.north", [raw_id(hidden)],
                         {"operation": operation, "reason": "outOfScope"}))
    assert await _denied(api) == expected
    after = await ledger_counts(api)
    assert {**after, "audit_log": 0} == {**before, "audit_log": 0}
    assert after["audit_log"] == before["audit_log"] + len(attempts)
    name = await api.scalar("SELECT name FROM accounts WHERE id = :id", id=uuid.UUID(
        raw_id(east)))
    assert name == "上海恒星精密机械有限公司"


async def test_a_refused_permission_is_still_recorded_once(api: Api) -> None:
    body = await api.as_user("finance").post(UPDATE_ACCOUNT, {"input": {
        "id": _missing("Account"), "name": "x"}})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await _denied(api) == [
        ("finance", [], {"operation": "account.update", "permission": "account:write"})]
