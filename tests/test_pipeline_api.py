"""Opportunities through GraphQL over HTTP: creation, stage rules, transitions, concurrency,
idempotency."""

from __future__ import annotations

from tests.conftest import Api
from tests.factories import make_account
from tests.pipeline_helpers import (
    CREATE,
    MOVE,
    READ,
    approved_quote,
    deal,
    decision_maker,
    move,
    quote,
    signed_contract,
)


async def count(api: Api, table: str) -> int:
    return int(await api.scalar(f"SELECT count(*) FROM {table}"))  # noqa: S608


async def test_a_new_opportunity_starts_in_the_first_stage(api: Api) -> None:
    sales = api.as_user("sales.east")
    made = await deal(sales, amount="120000.50")
    assert made["stage"] == "LEAD"
    assert made["version"] == 1
    assert made["amount"] == "120000.50"
    assert made["status"] == "OPEN"
    assert await api.scalar("SELECT count(*) FROM outbox WHERE topic = 'opportunity.created'") == 1
    history = await sales.data(READ, {"id": made["id"]})
    assert history["opportunity"]["stageHistory"] == [
        {"fromStage": None, "toStage": "LEAD", "actor": "sales.east", "note": None}]


async def test_negative_amount_and_unknown_currency_are_refused_and_nothing_is_written(
        api: Api) -> None:
    account = await make_account(api)
    for amount, currency, field in (("-1.00", "CNY", "amount"), ("10.00", "XYZ", "currency"),
                                    ("10.001", "CNY", "amount")):
        error = await api.error(CREATE, {"input": {"accountId": account, "name": "甲",
                                                   "amount": amount, "currency": currency}})
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert error["extensions"]["field"] == field
    assert await count(api, "opportunities") == 0
    assert await count(api, "opportunity_stage_history") == 0


async def test_the_same_create_with_one_key_writes_once_and_another_body_is_refused(
        api: Api) -> None:
    account = await make_account(api)
    given = {"accountId": account, "name": "幂等商机", "amount": "10.00", "currency": "CNY",
             "idempotencyKey": "deal-1"}
    first = await api.data(CREATE, {"input": given})
    again = await api.data(CREATE, {"input": given})
    assert again == first
    assert await count(api, "opportunities") == 1
    error = await api.error(CREATE, {"input": {**given, "amount": "11.00"}})
    assert error["extensions"]["field"] == "idempotencyKey"
    assert await count(api, "opportunities") == 1


async def test_moves_forward_and_backwards_are_recorded_with_note_and_actor(api: Api) -> None:
    made = await deal(api)
    made = await move(api, made, "QUALIFICATION", note="需求明确")
    await decision_maker(api, made)
    made = await move(api, made, "SOLUTION")
    made = await move(api, made, "QUALIFICATION", note="客户重新评估")
    assert made["stage"] == "QUALIFICATION"
    assert made["version"] == 4
    found = await api.data(READ, {"id": made["id"]})
    assert [(h["fromStage"], h["toStage"], h["note"])
            for h in found["opportunity"]["stageHistory"]] == [
        (None, "LEAD", None), ("LEAD", "QUALIFICATION", "需求明确"),
        ("QUALIFICATION", "SOLUTION", None), ("SOLUTION", "QUALIFICATION", "客户重新评估")]
    assert await api.scalar(
        "SELECT count(*) FROM outbox WHERE topic = 'opportunity.stage_changed'") == 3


async def test_a_stale_version_is_a_conflict_and_nothing_changes(api: Api) -> None:
    made = await deal(api)
    await move(api, made, "QUALIFICATION")
    error = await api.error(MOVE, {"input": {"opportunityId": made["id"],
                                             "stage": "SOLUTION", "version": 1}})
    assert error["extensions"]["code"] == "CONFLICT"
    assert error["extensions"]["field"] == "version"
    assert await api.scalar("SELECT stage FROM opportunities") == "QUALIFICATION"
    assert await count(api, "opportunity_stage_history") == 2


async def test_contract_stage_needs_an_approved_quote(api: Api) -> None:
    made = await move(api, await deal(api), "NEGOTIATION")
    error = await api.error(MOVE, {"input": {"opportunityId": made["id"], "stage": "CONTRACT",
                                             "version": made["version"]}})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["condition"] == "APPROVED_QUOTE"
    assert "approved quote" in error["message"]
    await quote(api, made["id"])  # pending approval is not enough
    error = await api.error(MOVE, {"input": {"opportunityId": made["id"], "stage": "CONTRACT",
                                             "version": made["version"]}})
    assert error["extensions"]["condition"] == "APPROVED_QUOTE"
    await approved_quote(api, made["id"])
    assert (await move(api, made, "CONTRACT"))["stage"] == "CONTRACT"


async def test_delivery_stage_needs_a_signed_contract(api: Api) -> None:
    sales = api.as_user("sales.east")
    made = await deal(sales)
    await approved_quote(sales, made["id"])
    made = await move(sales, made, "CONTRACT")
    error = await sales.error(MOVE, {"input": {"opportunityId": made["id"],
                                               "stage": "DELIVERY", "version": made["version"]}})
    assert error["extensions"]["condition"] == "SIGNED_CONTRACT"
    assert await api.scalar("SELECT stage FROM opportunities") == "CONTRACT"
    await signed_contract(sales, made["id"])
    assert (await move(sales, made, "DELIVERY"))["stage"] == "DELIVERY"


async def test_lost_needs_a_reason_and_a_closed_deal_cannot_move(api: Api) -> None:
    made = await deal(api)
    error = await api.error(MOVE, {"input": {"opportunityId": made["id"], "stage": "LOST",
                                             "version": 1}})
    assert error["extensions"]["field"] == "lostReason"
    lost = await move(api, made, "LOST", lostReason="价格过高")
    assert (lost["status"], lost["lostReason"]) == ("LOST", "价格过高")
    error = await api.error(MOVE, {"input": {"opportunityId": made["id"], "stage": "LEAD",
                                             "version": lost["version"]}})
    assert error["message"] == "invalid transition: the opportunity is already LOST"
    assert await api.scalar("SELECT count(*) FROM outbox WHERE topic = 'opportunity.lost'") == 1


async def test_an_unknown_stage_is_an_invalid_transition(api: Api) -> None:
    made = await deal(api)
    error = await api.error(MOVE, {"input": {"opportunityId": made["id"], "stage": "NOPE",
                                             "version": 1}})
    assert error["extensions"]["field"] == "stage"
    assert error["message"].startswith("invalid transition: `NOPE` is not a stage")


async def test_another_salesperson_cannot_see_or_move_a_deal(api: Api) -> None:
    made = await deal(api.as_user("sales.east"))
    north = api.as_user("sales.north")
    assert (await north.data(READ, {"id": made["id"]}))["opportunity"] is None
    error = await north.error(MOVE, {"input": {"opportunityId": made["id"],
                                               "stage": "QUALIFICATION", "version": 1}})
    assert error["extensions"]["code"] == "NOT_FOUND"
    assert await api.scalar("SELECT stage FROM opportunities") == "LEAD"
