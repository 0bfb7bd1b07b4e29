"""Cursors are opaque and tamper-proof on every connection, and ordering by a protected field
needs what reading it needs: a cursor must not turn paging into an oracle for a hidden value."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from sqlalchemy import text

from auth.actor import Clearance
from relational.uow import RequestMeta
from services.identity.users import create_user
from tests.conftest import Api
from tests.factories import make_account, make_contact, raw_id

BY_REVENUE = """query($after: String, $dir: OrderDirection!) {
  accounts(orderBy: {field: ANNUAL_REVENUE, direction: $dir}, first: 1, after: $after) {
    edges { cursor node { name } } pageInfo { endCursor hasNextPage } } }"""
BY_NAME = """query($after: String) { accounts(first: 1, after: $after) {
  edges { cursor node { name } } pageInfo { endCursor } } }"""
CONTACTS = """query($id: ID!, $after: String) { account(id: $id) {
  contacts(first: 1, after: $after) { edges { node { name } } pageInfo { endCursor } } } }"""
TRAIL = """query($after: String) { auditTrail(first: 1, after: $after) {
  edges { node { seq } } pageInfo { endCursor } } }"""


def _b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _readable(cursor: str) -> str:
    """Whatever a client could read out of a cursor by decoding it."""
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode(
            "utf-8", "replace")
    except (binascii.Error, ValueError):
        return cursor


def _tampered(cursor: str) -> str:
    middle = len(cursor) // 2
    return cursor[:middle] + ("A" if cursor[middle] != "A" else "B") + cursor[middle + 1:]


def assert_bad_cursor(body: dict[str, Any]) -> None:
    assert body["data"] is None, body
    [error] = body["errors"]
    assert (error["extensions"]["code"], error["extensions"]["field"]) == (
        "BAD_USER_INPUT", "after"), error


async def _revenue_accounts(api: Api) -> list[str]:
    return [await make_account(api, name=f"营收{amount}公司", annualRevenue=amount)
            for amount in ("100.00", "250.00", "975.50")]


async def test_a_cursor_reveals_nothing_of_what_it_sorts_by(api: Api) -> None:
    ids = await _revenue_accounts(api)
    finance = api.as_user("finance")
    seen: list[str] = []
    after = None
    for _ in ids:
        page = (await finance.data(BY_REVENUE, {"after": after, "dir": "ASC"}))["accounts"]
        [edge] = page["edges"]
        seen.append(edge["node"]["name"])
        decoded = _readable(edge["cursor"])
        for secret in ("100.00", "250.00", "975.50", "annual_revenue", raw_id(ids[0])):
            assert secret not in decoded
        after = page["pageInfo"]["endCursor"]
    assert seen == ["营收100.00公司", "营收250.00公司", "营收975.50公司"]


async def test_ordering_by_a_classified_field_needs_its_clearance(api: Api) -> None:
    await _revenue_accounts(api)
    async with api.stores.uow(RequestMeta(actor="test")) as uow:
        await create_user(uow, "public.reader", "Demo#2026", display_name="公开",
                          roles=["finance"], clearance=Clearance.PUBLIC)
    async with api.stores.ledger.sessionmaker() as session:
        await session.execute(text("UPDATE accounts SET classification = 0"))
        await session.commit()
    reader = api.as_user("public.reader")
    for direction in ("ASC", "DESC"):
        body = await reader.post(BY_REVENUE, {"dir": direction})
        assert body["data"] is None
        [error] = body["errors"]
        assert (error["extensions"]["code"], error["extensions"]["field"]) == (
            "FORBIDDEN", "orderBy")
        assert "100" not in str(body)
    by_name = await reader.data(BY_NAME)
    assert by_name["accounts"]["edges"][0]["node"]["name"] == "营收100.00公司"


def test_the_ordering_rule_is_the_fields_reading_rule() -> None:
    from schema.accounts import Account
    from schema.directives import Classified
    from services.accounts import SORT_RULES

    definition = Account.__strawberry_definition__  # type: ignore[attr-defined]
    field = next(f for f in definition.fields if f.python_name == "annual_revenue")
    [declared] = [d for d in field.directives if isinstance(d, Classified)]
    rule = next(rule for sort, rule in SORT_RULES.items() if sort.value == "annual_revenue")
    assert (rule.name, rule.permission, rule.level) == (
        "annualRevenue", None, Clearance[declared.level.value])


async def test_a_hand_made_or_tampered_account_cursor_is_refused(api: Api) -> None:
    ids = await _revenue_accounts(api)
    finance = api.as_user("finance")
    page = (await finance.data(BY_REVENUE, {"dir": "ASC"}))["accounts"]
    valid = page["pageInfo"]["endCursor"]
    hand_made = _b64(json.dumps(["accounts:annual_revenue:0", "200.00", raw_id(ids[0])]))
    for cursor in (hand_made, _tampered(valid), valid[:-4], "", "not a cursor"):
        assert_bad_cursor(await finance.post(BY_REVENUE, {"after": cursor, "dir": "ASC"}))
    # Sealed for one ordering, refused by another.
    assert_bad_cursor(await finance.post(BY_REVENUE, {"after": valid, "dir": "DESC"}))
    assert_bad_cursor(await finance.post(BY_NAME, {"after": valid}))


async def test_contact_and_audit_cursors_are_sealed_too(api: Api) -> None:
    account = await make_account(api)
    for name in ("王芳", "李娜"):
        await make_contact(api, account, name=name)
    page = (await api.data(CONTACTS, {"id": account}))["account"]["contacts"]
    cursor = page["pageInfo"]["endCursor"]
    assert "李娜" not in _readable(cursor)
    rest = (await api.data(CONTACTS, {"id": account, "after": cursor}))["account"]["contacts"]
    assert [edge["node"]["name"] for edge in rest["edges"]] == ["王芳"]
    hand_made = _b64(json.dumps(["contacts", "李娜", raw_id(account)]))
    for bad in (hand_made, _tampered(cursor)):
        body = await api.post(CONTACTS, {"id": account, "after": bad})
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert body["errors"][0]["extensions"]["field"] == "after"

    auditor = api.as_user("auditor")
    first = (await auditor.data(TRAIL))["auditTrail"]
    after = first["pageInfo"]["endCursor"]
    assert not after.startswith("audit:")
    second = (await auditor.data(TRAIL, {"after": after}))["auditTrail"]
    assert second["edges"][0]["node"]["seq"] == first["edges"][0]["node"]["seq"] - 1
    for bad in ("audit:2", _tampered(after), cursor):
        assert_bad_cursor(await auditor.post(TRAIL, {"after": bad}))
