"""Quotes and approvals, SM2-signed contracts and their verification, payments and refunds,
through GraphQL over HTTP."""

from __future__ import annotations

from sqlalchemy import text

from tests.conftest import Api
from tests.pipeline_helpers import (
    APPROVE,
    CONTRACT,
    PAY,
    QUOTE,
    REFUND,
    REJECT,
    SIGN,
    VERIFY,
    approved_quote,
    deal,
    quote,
    signed_contract,
)

LINES = [{"product": "雷达模块", "quantity": "2", "unitPrice": "30000.00"},
         {"product": "安装调试", "quantity": "1", "unitPrice": "5000.50"}]


async def tamper(api: Api, sql: str) -> None:
    """Someone with database access changes a row behind the application's back."""
    async with api.stores.ledger.sessionmaker() as session:
        await session.execute(text(sql))
        await session.commit()


async def count(api: Api, table: str) -> int:
    return int(await api.scalar(f"SELECT count(*) FROM {table}"))  # noqa: S608


async def test_totals_are_computed_by_the_server(api: Api) -> None:
    made = await deal(api)
    body = await api.data(QUOTE, {"input": {"opportunityId": made["id"], "currency": "CNY",
                                            "discountPct": "5", "taxPct": "13",
                                            "lines": LINES}})
    # 65000.50 − 5 % (3250.03) = 61750.47; + 13 % tax (8027.56) = 69778.03
    assert body["quoteCreate"]["quote"]["total"] == "69778.03"
    assert body["quoteCreate"]["quote"]["status"] == "PENDING_APPROVAL"
    assert await api.scalar("SELECT subtotal FROM quotes") == 65000.50


async def test_a_quote_in_another_currency_is_refused(api: Api) -> None:
    made = await deal(api)
    error = await api.error(QUOTE, {"input": {"opportunityId": made["id"], "currency": "USD",
                                              "lines": LINES}})
    assert error["extensions"]["field"] == "currency"
    assert error["message"].startswith("currency mismatch")
    assert await count(api, "quotes") == 0


async def test_below_the_threshold_the_owner_approves(api: Api) -> None:
    sales = api.as_user("sales.east")
    made = await quote(sales, (await deal(sales))["id"], discount="10")
    assert made["needsManager"] is False
    body = await sales.data(APPROVE, {"input": {"quoteId": made["id"], "comment": "标准价"}})
    assert body["quoteApprove"]["quote"]["status"] == "APPROVED"
    assert await api.scalar("SELECT comment FROM quote_approvals") == "标准价"


async def test_above_the_threshold_only_a_manager_above_the_owner_approves(api: Api) -> None:
    sales = api.as_user("sales.east")
    made = await quote(sales, (await deal(sales))["id"], discount="25")
    assert made["needsManager"] is True
    own = await sales.error(APPROVE, {"input": {"quoteId": made["id"]}})
    assert own["extensions"]["code"] == "FORBIDDEN"
    assert "its own salesperson" in own["message"]
    assert await api.scalar("SELECT status FROM quotes") == "PENDING_APPROVAL"
    assert await api.scalar("SELECT after->>'operation' FROM audit_log WHERE operation = "
                            "'denied' ORDER BY id DESC LIMIT 1") == "quote.approve"
    body = await api.as_user("manager.east").data(APPROVE, {"input": {
        "quoteId": made["id"], "comment": "战略客户", "version": made["version"]}})
    assert body["quoteApprove"]["quote"]["status"] == "APPROVED"


async def test_a_manager_of_another_department_cannot_approve(api: Api) -> None:
    sales = api.as_user("sales.north")
    made = await quote(sales, (await deal(sales))["id"], discount="30")
    error = await api.as_user("manager.east").error(APPROVE, {"input": {"quoteId": made["id"]}})
    assert error["extensions"]["code"] == "NOT_FOUND"  # not even visible to them
    assert await api.scalar("SELECT status FROM quotes") == "PENDING_APPROVAL"


async def test_a_rejected_quote_does_not_open_the_contract_stage(api: Api) -> None:
    made = await deal(api.as_user("sales.east"))
    offer = await quote(api.as_user("sales.east"), made["id"], discount="25")
    await api.as_user("manager.east").data(REJECT, {"input": {"quoteId": offer["id"],
                                                              "comment": "折扣过大"}})
    error = await api.as_user("sales.east").error(CONTRACT, {"input": {"quoteId": offer["id"]}})
    assert error["extensions"]["field"] == "quoteId"
    assert await count(api, "contracts") == 0


async def test_a_new_quote_version_supersedes_the_open_one(api: Api) -> None:
    made = await deal(api)
    first = await quote(api, made["id"])
    second = await quote(api, made["id"], discount="3")
    assert await api.scalar("SELECT array_agg(status ORDER BY number) FROM quotes") == [
        "SUPERSEDED", "PENDING_APPROVAL"]
    error = await api.error(APPROVE, {"input": {"quoteId": first["id"]}})
    assert error["extensions"]["field"] == "quoteId"
    assert second["id"] != first["id"]


async def test_signing_and_verification_name_the_signer(api: Api) -> None:
    sales = api.as_user("sales.east")
    made = await deal(sales)
    offer = await approved_quote(sales, made["id"])
    contract = (await sales.data(CONTRACT, {"input": {"quoteId": offer["id"]}})
                )["contractCreateFromQuote"]["contract"]
    assert contract["amount"] == offer["total"]
    signed = (await api.as_user("manager.east").data(SIGN, {"input": {
        "contractId": contract["id"]}}))["contractSign"]["contract"]
    assert signed["status"] == "SIGNED"
    assert len(signed["signature"]) == 128 and len(signed["digest"]) == 64
    assert signed["signedAt"] is not None
    check = await sales.data(VERIFY, {"id": contract["id"]})
    assert check["contractVerify"] == {"valid": True, "signer": "manager.east",
                                       "reason": "the signature matches the contract"}
    # The private key is stored only sealed with the field cipher.
    envelope = await api.scalar("SELECT private_envelope FROM signing_keys")
    assert envelope.startswith("sm4gcm:v1:")
    again = await api.as_user("manager.east").error(SIGN, {"input": {
        "contractId": contract["id"]}})
    assert "immutable" in again["message"]


async def test_a_contract_altered_in_the_database_fails_verification(api: Api) -> None:
    sales = api.as_user("sales.east")
    contract_id = await signed_contract(sales, (await deal(sales))["id"])
    await tamper(api, "UPDATE contracts SET amount = amount + 1")
    check = await sales.data(VERIFY, {"id": contract_id})
    assert check["contractVerify"]["valid"] is False
    assert check["contractVerify"]["signer"] == "manager.east"
    assert "altered after signing" in check["contractVerify"]["reason"]
    error = await api.as_user("finance").error(PAY, {"input": {
        "contractId": contract_id, "amount": "100.00", "currency": "CNY"}})
    assert error["extensions"]["code"] == "CONFLICT"
    assert error["message"].startswith("the contract fails verification")
    assert await count(api, "payments") == 0


async def test_altered_quote_lines_break_the_signature_too(api: Api) -> None:
    sales = api.as_user("sales.east")
    contract_id = await signed_contract(sales, (await deal(sales))["id"])
    await tamper(api, "UPDATE quote_lines SET product = '别的产品'")
    check = await sales.data(VERIFY, {"id": contract_id})
    assert check["contractVerify"]["valid"] is False


async def test_partial_payments_overpayment_and_refunds(api: Api) -> None:
    sales = api.as_user("sales.east")
    contract_id = await signed_contract(sales, (await deal(sales))["id"])
    total = await api.scalar("SELECT amount::text FROM contracts")
    assert total == "61750.47"
    finance = api.as_user("finance")
    first = (await finance.data(PAY, {"input": {"contractId": contract_id, "amount": "50000",
                                                "currency": "CNY"}}))["paymentRecord"]
    assert first["payment"]["paidTotal"] == "50000.00"
    assert first["payment"]["balance"] == "11750.47"
    over = await finance.error(PAY, {"input": {"contractId": contract_id,
                                               "amount": "11750.48", "currency": "CNY"}})
    assert over["extensions"]["field"] == "amount"
    assert over["message"].startswith("overpayment refused")
    mismatch = await finance.error(PAY, {"input": {"contractId": contract_id, "amount": "1",
                                                   "currency": "USD"}})
    assert mismatch["message"].startswith("currency mismatch")
    negative = await finance.error(PAY, {"input": {"contractId": contract_id, "amount": "-5",
                                                   "currency": "CNY"}})
    assert negative["extensions"]["field"] == "amount"
    refund = (await finance.data(REFUND, {"input": {"contractId": contract_id,
                                                    "amount": "2000", "currency": "CNY"}}))
    assert refund["paymentRefund"]["payment"]["paidTotal"] == "48000.00"
    too_much = await finance.error(REFUND, {"input": {"contractId": contract_id,
                                                      "amount": "48000.01", "currency": "CNY"}})
    assert too_much["extensions"]["field"] == "amount"
    rest = await finance.data(PAY, {"input": {"contractId": contract_id,
                                              "amount": "13750.47", "currency": "CNY"}})
    assert rest["paymentRecord"]["payment"]["balance"] == "0.00"
    assert await count(api, "payments") == 3
    assert await api.scalar(
        "SELECT count(*) FROM outbox WHERE topic = 'payment.recorded'") == 3


async def test_a_payment_retried_with_its_key_is_recorded_once(api: Api) -> None:
    sales = api.as_user("sales.east")
    contract_id = await signed_contract(sales, (await deal(sales))["id"])
    given = {"contractId": contract_id, "amount": "100.00", "currency": "CNY",
             "idempotencyKey": "pay-1"}
    first = await api.as_user("finance").data(PAY, {"input": given})
    again = await api.as_user("finance").data(PAY, {"input": given})
    assert first == again
    assert await count(api, "payments") == 1


async def test_a_draft_contract_takes_no_payment(api: Api) -> None:
    made = await deal(api)
    offer = await approved_quote(api, made["id"])
    contract = (await api.data(CONTRACT, {"input": {"quoteId": offer["id"]}})
                )["contractCreateFromQuote"]["contract"]
    error = await api.as_user("finance").error(PAY, {"input": {
        "contractId": contract["id"], "amount": "1", "currency": "CNY"}})
    assert error["message"] == "the contract is not signed yet"
    twice = await api.error(CONTRACT, {"input": {"quoteId": offer["id"]}})
    assert twice["extensions"]["code"] == "CONFLICT"
