"""Typed factories of the pipeline tests: deals, quotes and signed contracts through the API."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api
from tests.factories import make_account, make_contact

CREATE = """mutation($input: OpportunityCreateInput!) {
  opportunityCreate(input: $input) { opportunity { id stage version amount currency status } } }"""
MOVE = """mutation($input: OpportunityMoveStageInput!) {
  opportunityMoveStage(input: $input) { opportunity { id stage status version lostReason } } }"""
QUOTE = """mutation($input: QuoteCreateInput!) {
  quoteCreate(input: $input) { quote { id total status needsManager version } } }"""
APPROVE = """mutation($input: QuoteDecisionInput!) {
  quoteApprove(input: $input) { quote { id status version } } }"""
REJECT = """mutation($input: QuoteDecisionInput!) {
  quoteReject(input: $input) { quote { id status } } }"""
CONTRACT = """mutation($input: ContractCreateFromQuoteInput!) {
  contractCreateFromQuote(input: $input) { contract { id status amount } } }"""
SIGN = """mutation($input: ContractSignInput!) {
  contractSign(input: $input) { contract { id signedAt signature digest status } } }"""
VERIFY = """query($id: ID!) { contractVerify(contractId: $id) { valid signer reason } }"""
PAY = """mutation($input: PaymentRecordInput!) {
  paymentRecord(input: $input) { payment { id kind amount paidTotal balance } } }"""
REFUND = """mutation($input: PaymentRecordInput!) {
  paymentRefund(input: $input) { payment { id kind amount paidTotal balance } } }"""
SEAT = """mutation($input: CommitteeMemberAddInput!) {
  committeeMemberAdd(input: $input) { member { id role } } }"""
ACCOUNT_OF = """query($id: ID!) { opportunity(id: $id) { account { id } } }"""
READ = """query($id: ID!) { opportunity(id: $id) { id name stage status amount version
  stageHistory { fromStage toStage actor note } } }"""


async def deal(api: Api, *, amount: str = "100000.00", currency: str = "CNY",
               account: str | None = None, **fields: Any) -> dict[str, Any]:
    """A new opportunity of the calling user on a new account of theirs."""
    account_id = account or await make_account(api)
    body = await api.data(CREATE, {"input": {"accountId": account_id, "name": "雷达备件采购",
                                             "amount": amount, "currency": currency,
                                             **fields}})
    found: dict[str, Any] = body["opportunityCreate"]["opportunity"]
    return found


async def decision_maker(api: Api, found: dict[str, Any], *,
                         on_account: bool = False) -> str:
    """A new contact of the deal's account as DECISION_MAKER on the deal's committee (or the
    account's): what entering SOLUTION requires."""
    account = (await api.data(ACCOUNT_OF, {"id": found["id"]}))["opportunity"]["account"]["id"]
    contact = await make_contact(api, account, name="王决策")
    seat = {"accountId": account, "contactId": contact, "role": "DECISION_MAKER"}
    await api.data(SEAT, {"input": seat if on_account else {**seat,
                                                            "opportunityId": found["id"]}})
    return contact


async def move(api: Api, found: dict[str, Any], stage: str, **fields: Any) -> dict[str, Any]:
    body = await api.data(MOVE, {"input": {"opportunityId": found["id"], "stage": stage,
                                           "version": found["version"], **fields}})
    moved: dict[str, Any] = body["opportunityMoveStage"]["opportunity"]
    return moved


async def quote(api: Api, deal_id: str, *, discount: str = "5", currency: str = "CNY",
                lines: list[dict[str, str]] | None = None) -> dict[str, Any]:
    given = lines or [{"product": "雷达模块", "quantity": "2", "unitPrice": "30000.00"},
                      {"product": "安装调试", "quantity": "1", "unitPrice": "5000.50"}]
    body = await api.data(QUOTE, {"input": {"opportunityId": deal_id, "currency": currency,
                                            "discountPct": discount, "lines": given}})
    made: dict[str, Any] = body["quoteCreate"]["quote"]
    return made


async def approved_quote(api: Api, deal_id: str, **fields: Any) -> dict[str, Any]:
    made = await quote(api, deal_id, **fields)
    await api.data(APPROVE, {"input": {"quoteId": made["id"], "comment": "同意"}})
    return made


async def signed_contract(api: Api, deal_id: str) -> str:
    """An approved quote's contract, signed by manager.east (the owner's manager)."""
    made = await approved_quote(api, deal_id)
    body = await api.data(CONTRACT, {"input": {"quoteId": made["id"]}})
    contract_id: str = body["contractCreateFromQuote"]["contract"]["id"]
    await api.as_user("manager.east").data(SIGN, {"input": {"contractId": contract_id}})
    return contract_id
