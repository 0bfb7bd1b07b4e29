"""Phone, e-mail and ID-card number at rest: SM4-GCM envelopes bound to their row and column,
exact search through keyed SM3 blind indexes, and the ID-card number's input rules. Everything
through GraphQL over HTTP; SQL only reads (or, to simulate an attacker, rewrites) the ledger."""

from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy import text

from services import contact_fields
from services.demo_data import build_demo_dataset
from services.id_numbers import resident_id_check_digit
from tests.conftest import Api
from tests.factories import assert_error, audit_rows, ledger_counts, make_account, raw_id

PHONE = "+86 138-0013-8000"
EMAIL = "Zhang.Wei@Example.cn"
ID_FIRST17 = "11010819850312041"
ID_NUMBER = ID_FIRST17 + resident_id_check_digit(ID_FIRST17)
# Pieces of the plaintext that must not appear anywhere in a stored row.
SECRETS = ("13800138000", "138-0013", "00138000", "zhang.wei", "example.cn", ID_NUMBER,
           ID_FIRST17, "19850312")
ENVELOPE = re.compile(r"sm4gcm:v1:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]{22,}")
BLIND_INDEX = re.compile(r"[0-9a-f]{64}")
FIELDS = "id name phone email idNumber"

CREATE = ("mutation($input: ContactCreateInput!) { contactCreate(input: $input) { contact { "
          + FIELDS + " } } }")
UPDATE = ("mutation($input: ContactUpdateInput!) { contactUpdate(input: $input) { contact { "
          + FIELDS + " } } }")
GET = "query($id: ID!) { contact(id: $id) { " + FIELDS + " } }"
SEARCH = """query($filter: ContactFilter!, $first: Int, $after: String) {
  contacts(filter: $filter, first: $first, after: $after) {
    totalCount edges { cursor node { id name phone } } pageInfo { hasNextPage endCursor }
  }
}"""


def id_number_ending_in_x() -> str:
    for sequence in range(1, 1000):
        first17 = f"32010619900101{sequence:03d}"
        if resident_id_check_digit(first17) == "X":
            return first17 + "X"
    raise AssertionError("no sequence gives an X check character")


async def create(api: Api, account_id: str, name: str = "张伟", **fields: Any) -> dict[str, Any]:
    data = await api.data(CREATE, {"input": {"accountId": account_id, "name": name, **fields}})
    contact: dict[str, Any] = data["contactCreate"]["contact"]
    return contact


async def stored_row(api: Api, contact_id: str) -> dict[str, Any]:
    row: dict[str, Any] = await api.scalar(
        "SELECT to_jsonb(c) FROM contacts c WHERE id = CAST(:id AS uuid)", id=raw_id(contact_id))
    return row


async def search(api: Api, **variables: Any) -> dict[str, Any]:
    connection: dict[str, Any] = (await api.data(SEARCH, variables))["contacts"]
    return connection


def names(connection: dict[str, Any]) -> list[str]:
    return [edge["node"]["name"] for edge in connection["edges"]]


async def test_the_row_holds_envelopes_and_indexes_only(api: Api) -> None:
    account_id = await make_account(api)
    contact = await create(api, account_id, phone=PHONE, email=EMAIL, idNumber=ID_NUMBER)
    assert contact == {"id": contact["id"], "name": "张伟", "phone": PHONE, "email": EMAIL,
                       "idNumber": ID_NUMBER}
    assert (await api.data(GET, {"id": contact["id"]}))["contact"] == contact

    row = await stored_row(api, contact["id"])
    assert (row["phone"], row["email"]) == (None, None)  # the legacy plaintext columns
    for name in ("phone", "email", "id_number"):
        assert ENVELOPE.fullmatch(row[f"{name}_enc"]), row[f"{name}_enc"]
        assert BLIND_INDEX.fullmatch(row[f"{name}_bidx"]), row[f"{name}_bidx"]
    stored = json.dumps(row).lower()
    for secret in SECRETS:
        assert secret.lower() not in stored, secret

    # Neither the audit trail, the outbox nor the graph ever had the values.
    await api.projector.drain()
    elsewhere = json.dumps([
        await api.scalar("SELECT json_agg(a) FROM audit_log a"),
        await api.scalar("SELECT json_agg(o) FROM outbox o"),
        await api.stores.graph.read("MATCH (c:Contact) RETURN c {.*} AS c"),
    ], ensure_ascii=False).lower()
    for secret in SECRETS:
        assert secret.lower() not in elsewhere, secret


async def test_an_envelope_only_opens_in_its_own_row_and_column(api: Api) -> None:
    account_id = await make_account(api)
    first = await create(api, account_id, "甲", phone=PHONE, email=EMAIL)
    second = await create(api, account_id, "乙", phone="13900001111", email="yi@example.cn")
    # An attacker with write access to the table copies the first phone onto the second row,
    # and the second row's e-mail envelope into its own phone column.
    await execute(api, "UPDATE contacts SET phone_enc = (SELECT phone_enc FROM contacts WHERE "
                  "id = CAST(:a AS uuid)) WHERE id = CAST(:b AS uuid)",
                  a=raw_id(first["id"]), b=raw_id(second["id"]))
    await execute(api, "UPDATE contacts SET email_enc = phone_enc, phone_enc = email_enc "
                  "WHERE id = CAST(:a AS uuid)", a=raw_id(first["id"]))

    for victim in (first, second):
        body = await api.post(GET, {"id": victim["id"]})
        # Only the damaged fields are null; each has its own masked error.
        expected = {**victim, "phone": None}
        if victim is first:
            expected["email"] = None
        assert body["data"] == {"contact": expected}
        paths = sorted(tuple(error["path"]) for error in body["errors"])
        assert paths == sorted(("contact", name) for name in
                               (("phone", "email") if victim is first else ("phone",)))
        for error in body["errors"]:
            assert_error(error, "INTERNAL", None)
            assert "integrity check" in error["message"]
            assert not re.search(r"\d{4}", error["message"].replace(error["extensions"][
                "requestId"], "")), error["message"]

    # Search still lists the row (the index is intact); overwriting the value repairs it.
    found = await api.post(SEARCH, {"filter": {"phone": "13900001111"}})
    assert [edge["node"]["name"] for edge in found["data"]["contacts"]["edges"]] == ["乙"]
    assert found["data"]["contacts"]["edges"][0]["node"]["phone"] is None
    repaired = await api.data(UPDATE, {"input": {"id": second["id"], "phone": "13900002222"}})
    assert repaired["contactUpdate"]["contact"] == {**second, "phone": "13900002222"}


async def execute(api: Api, sql: str, **params: Any) -> None:
    async with api.stores.ledger.sessionmaker() as session:
        await session.execute(text(sql), params)
        await session.commit()


async def test_exact_search_ignores_formatting(api: Api) -> None:
    account_id = await make_account(api)
    x_number = id_number_ending_in_x()
    await create(api, account_id, "Li", phone=PHONE, email=EMAIL)
    await create(api, account_id, "Chen", phone="13800138000", idNumber=x_number)
    await create(api, account_id, "Wang", phone="13800138001", email="wang@example.cn")

    for spelling in ("13800138000", "+86 138 0013 8000", "0086-138-0013-8000",
                     "１３８００１３８０００"):
        found = await search(api, filter={"phone": spelling})
        assert names(found) == ["Chen", "Li"], spelling
        assert found["totalCount"] == 2
    assert names(await search(api, filter={"email": " ZHANG.WEI@EXAMPLE.CN "})) == ["Li"]
    assert names(await search(api, filter={"idNumber": x_number.lower()})) == ["Chen"]
    assert names(await search(api, filter={"phone": PHONE, "email": EMAIL})) == ["Li"]
    assert names(await search(api, filter={"phone": PHONE, "email": "wang@example.cn"})) == []
    assert names(await search(api, filter={"phone": "13800138002"})) == []

    page = await search(api, filter={"phone": PHONE}, first=1)
    assert (names(page), page["pageInfo"]["hasNextPage"]) == (["Chen"], True)
    rest = await search(api, filter={"phone": PHONE}, first=1,
                        after=page["pageInfo"]["endCursor"])
    assert (names(rest), rest["pageInfo"]["hasNextPage"]) == (["Li"], False)


async def test_search_follows_updates(api: Api) -> None:
    account_id = await make_account(api)
    contact = await create(api, account_id, phone=PHONE)
    await api.data(UPDATE, {"input": {"id": contact["id"], "phone": "13700000000"}})
    assert names(await search(api, filter={"phone": PHONE})) == []
    assert names(await search(api, filter={"phone": "137 0000 0000"})) == ["张伟"]
    await api.data(UPDATE, {"input": {"id": contact["id"], "phone": None}})
    assert names(await search(api, filter={"phone": "13700000000"})) == []
    row = await stored_row(api, contact["id"])
    assert (row["phone_enc"], row["phone_bidx"]) == (None, None)


async def test_search_refuses_bad_filters(api: Api) -> None:
    account_id = await make_account(api)
    await create(api, account_id, phone=PHONE)
    cases = [({}, "filter"), ({"phone": None}, "filter"), ({"phone": "call me"}, "phone"),
             ({"email": "   "}, "email")]
    for given, field in cases:
        body = await api.post(SEARCH, {"filter": given})
        assert body["data"] is None, given
        assert_error(body["errors"][0], "BAD_USER_INPUT", field)
    accounts_cursor = (await api.data("{ accounts(first: 1) { pageInfo { endCursor } } }"))[
        "accounts"]["pageInfo"]["endCursor"]
    body = await api.post(SEARCH, {"filter": {"phone": PHONE}, "after": accounts_cursor})
    assert_error(body["errors"][0], "BAD_USER_INPUT", "after")
    body = await api.post(SEARCH, {"filter": {"phone": PHONE}, "first": 101})
    assert_error(body["errors"][0], "BAD_USER_INPUT", "first")


async def test_id_number_must_be_a_valid_resident_id(api: Api) -> None:
    account_id = await make_account(api)
    def checked(first17: str) -> str:
        return first17 + resident_id_check_digit(first17)

    bad = {"wrong check character": ID_FIRST17 + ("0" if ID_NUMBER[-1] != "0" else "1"),
           "17 characters": ID_FIRST17, "19 characters": ID_NUMBER + "1",
           "letters": "11010819850312ABCX", "no such date": checked("110108" "19851332" "041"),
           "born in the future": checked("110108" "29990101" "041")}
    before = await ledger_counts(api)
    for case, value in bad.items():
        error = await api.error(CREATE, {"input": {"accountId": account_id, "name": "王芳",
                                                   "idNumber": value}})
        assert error["extensions"].get("field") == "idNumber", case
        assert_error(error, "BAD_USER_INPUT", "idNumber")
    assert await ledger_counts(api) == before

    x_number = id_number_ending_in_x()
    spaced = f" {x_number[:6]} {x_number[6:14]} {x_number[14:].lower()} "
    contact = await create(api, account_id, idNumber=spaced)
    assert contact["idNumber"] == x_number
    changed = await api.data(UPDATE, {"input": {"id": contact["id"], "idNumber": ID_NUMBER}})
    assert changed["contactUpdate"]["contact"]["idNumber"] == ID_NUMBER
    update, read = (await audit_rows(api))[-2:]
    assert update["operation"] == "contact.update"
    assert update["after"]["changedFields"] == ["idNumber"]
    # The payload read the number back: audited after the write, by reference only.
    assert (read["operation"], read["after"]) == ("read.sensitive", {"reads": [
        {"type": "Contact", "field": "idNumber", "outcome": "clear",
         "records": [raw_id(contact["id"])]}]})
    assert update["before"]["hasIdNumber"] is update["after"]["hasIdNumber"] is True


def test_every_demo_id_number_is_accepted() -> None:
    numbers = [person.id_number for person in build_demo_dataset().contacts if person.id_number]
    assert len(numbers) > 400
    assert [contact_fields.id_number(number) for number in numbers] == numbers
