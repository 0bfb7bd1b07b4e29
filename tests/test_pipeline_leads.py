"""Leads converting into account + contact + opportunity (found again by USCC or normalised
name, once), and tender tracking, through GraphQL over HTTP."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api
from tests.factories import make_account, new_uscc
from tests.pipeline_helpers import deal

LEAD = """mutation($input: LeadCreateInput!) { leadCreate(input: $input) { lead { id status
  version } } }"""
CONVERT = """mutation($input: LeadConvertInput!) { leadConvert(input: $input) {
  lead { status opportunityId } accountCreated contactId account { id ... on Account { name } }
  opportunity { id stage amount currency } } }"""
TENDER = """mutation($input: TenderCreateInput!) { tenderCreate(input: $input) { tender {
  id version overdue competitors documents { name sm3 }
  milestones { kind label plannedOn actualOn overdue } } } }"""
TENDER_UPDATE = """mutation($input: TenderUpdateInput!) { tenderUpdate(input: $input) {
  tender { version overdue outcome milestones { kind actualOn overdue } } } }"""


async def lead(api: Api, **fields: Any) -> str:
    body = await api.data(LEAD, {"input": {"companyName": "上海恒星精密机械有限公司",
                                           "region": "华东", "industry": "机械制造",
                                           "source": "展会", "score": 70, **fields}})
    lead_id: str = body["leadCreate"]["lead"]["id"]
    return lead_id


async def test_conversion_finds_the_account_by_uscc_and_refuses_a_second_time(
        api: Api) -> None:
    sales = api.as_user("sales.east")
    uscc = new_uscc()
    account = await make_account(sales, name="恒星精机", uscc=uscc)
    lead_id = await lead(sales, uscc=uscc, contactName="李强", contactTitle="采购部长")
    body = (await sales.data(CONVERT, {"input": {"leadId": lead_id, "amount": "80000",
                                                 "currency": "CNY"}}))["leadConvert"]
    assert body["accountCreated"] is False
    assert body["account"] == {"id": account, "name": "恒星精机"}
    assert body["lead"] == {"status": "CONVERTED", "opportunityId": body["opportunity"]["id"]}
    assert body["opportunity"]["stage"] == "LEAD"
    assert body["opportunity"]["amount"] == "80000.00"
    assert body["contactId"] is not None
    assert await api.scalar("SELECT count(*) FROM accounts") == 1
    assert await api.scalar("SELECT lead_id IS NOT NULL FROM opportunities") is True
    again = await sales.error(CONVERT, {"input": {"leadId": lead_id}})
    assert again["extensions"]["code"] == "CONFLICT"
    assert again["message"] == "this lead is already converted"
    assert await api.scalar("SELECT count(*) FROM opportunities") == 1


async def test_conversion_finds_the_account_by_normalised_name(api: Api) -> None:
    sales = api.as_user("sales.east")
    await make_account(sales, name="上海恒星(精密)机械有限公司")
    lead_id = await lead(sales, companyName="上海 恒星（精密）机械有限公司")
    body = (await sales.data(CONVERT, {"input": {"leadId": lead_id}}))["leadConvert"]
    assert body["accountCreated"] is False
    assert body["contactId"] is None
    assert await api.scalar("SELECT count(*) FROM accounts") == 1


async def test_conversion_creates_the_account_when_none_matches(api: Api) -> None:
    sales = api.as_user("sales.east")
    missing = await lead(sales, companyName="无锡新创电子有限公司")
    error = await sales.error(CONVERT, {"input": {"leadId": missing}})
    assert error["extensions"]["field"] == "uscc"
    assert await api.scalar("SELECT count(*) FROM opportunities") == 0
    with_uscc = await lead(sales, companyName="苏州新创电子有限公司", uscc=new_uscc())
    body = (await sales.data(CONVERT, {"input": {"leadId": with_uscc}}))["leadConvert"]
    assert body["accountCreated"] is True
    assert body["account"]["name"] == "苏州新创电子有限公司"
    assert await api.scalar("SELECT owner_id = (SELECT id FROM users WHERE username = "
                            "'sales.east') FROM accounts") is True


async def test_a_lead_with_an_idempotency_key_is_created_once(api: Api) -> None:
    first = await lead(api, idempotencyKey="lead-1")
    again = await lead(api, idempotencyKey="lead-1")
    assert first == again
    assert await api.scalar("SELECT count(*) FROM leads") == 1


async def test_tender_milestones_documents_and_overdue_flags(api: Api) -> None:
    made = await deal(api)
    digest = "a" * 64
    body = (await api.data(TENDER, {"input": {
        "opportunityId": made["id"], "competitors": ["中电科", "航天科工"],
        "documents": [{"name": "招标文件.pdf", "sm3": digest}],
        "milestones": [{"kind": "PUBLISHED", "plannedOn": "2026-01-05",
                        "actualOn": "2026-01-05"},
                       {"kind": "BID_SUBMITTED", "plannedOn": "2026-02-01"},
                       {"kind": "AWARD", "plannedOn": "2099-01-01"}]}}))["tenderCreate"]
    tender = body["tender"]
    assert [m["label"] for m in tender["milestones"]] == ["招标", "投标", "定标"]
    assert [m["overdue"] for m in tender["milestones"]] == [False, True, False]
    assert tender["overdue"] is True
    assert tender["documents"] == [{"name": "招标文件.pdf", "sm3": digest}]
    done = (await api.data(TENDER_UPDATE, {"input": {
        "tenderId": tender["id"], "version": tender["version"], "outcome": "WON",
        "milestones": [{"kind": "BID_SUBMITTED", "actualOn": "2026-02-03"}]}}))["tenderUpdate"]
    assert done["tender"]["overdue"] is False
    assert done["tender"]["outcome"] == "WON"
    stale = await api.error(TENDER_UPDATE, {"input": {"tenderId": tender["id"],
                                                      "version": tender["version"]}})
    assert stale["extensions"]["code"] == "CONFLICT"
    bad = await api.error(TENDER, {"input": {"opportunityId": (await deal(api))["id"],
                                             "documents": [{"name": "x", "sm3": "zz"}]}})
    assert bad["extensions"]["field"] == "documents"
    assert await api.scalar("SELECT count(*) FROM tenders") == 1


async def test_leads_are_paged_newest_first_and_only_ones_own(api: Api) -> None:
    sales = api.as_user("sales.east")
    made = [await lead(sales, companyName=f"线索{n}有限公司") for n in range(3)]
    await lead(api.as_user("sales.north"), companyName="别人的线索有限公司")
    query = """query($after: String) { leads(first: 2, after: $after) { nodes { id }
      pageInfo { hasNextPage endCursor } } }"""
    first = (await sales.data(query))["leads"]
    assert [node["id"] for node in first["nodes"]] == made[::-1][:2]
    assert first["pageInfo"]["hasNextPage"] is True
    rest = (await sales.data(query, {"after": first["pageInfo"]["endCursor"]}))["leads"]
    assert [node["id"] for node in rest["nodes"]] == [made[0]]
    assert rest["pageInfo"]["hasNextPage"] is False
