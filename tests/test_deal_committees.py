"""Where decision maps meet the pipeline: buying committees per opportunity (and their stored
scores and map), the SOLUTION entry condition that reads them, the win model's features from
interactions and committees, and the open deals that exposure names."""

from __future__ import annotations

import uuid

from services import win
from services.vocabulary import KEY_ROLES
from tests.conftest import Api
from tests.factories import (
    assert_error,
    global_id,
    ledger_counts,
    make_account,
    make_contact,
    raw_id,
    recording,
)
from tests.pipeline_helpers import MOVE, SEAT, deal, decision_maker, move
from tests.test_authorization import MASK
from tests.test_authorization import account as account_of
from tests.test_interactions_api import day, log
from tests.test_supply_api import supplies

DEAL_MAP = """query($id: ID!) { opportunity(id: $id) { decisionMap {
  nodes { id kind role influence } coverage { completeness missingRoles } } } }"""
ACCOUNT_MAP = """query($id: ID!) { account(id: $id) { decisionMap { nodes { id role } } } }"""
EXPOSED = """query($id: ID!) { exposure(accountId: $id, maxTier: 2) {
  account { id restricted } tier opportunities { id name amount } } }"""
ONE_ROLE = round(100.0 / len(KEY_ROLES), 1)


def seat(account: str, contact: str, role: str, deal_id: str | None = None) -> dict[str, str]:
    given = {"accountId": account, "contactId": contact, "role": role}
    return given if deal_id is None else {**given, "opportunityId": deal_id}


async def test_a_member_with_an_opportunity_sits_on_that_deals_committee_only(api: Api) -> None:
    account = await make_account(api)
    made = await deal(api, account=account)
    person = await make_contact(api, account, name="李总")
    await api.data(SEAT, {"input": seat(account, person, "DECISION_MAKER", made["id"])})
    assert await api.scalar("SELECT opportunity_id::text FROM committee_members") == \
        raw_id(made["id"])
    found = (await api.data(DEAL_MAP, {"id": made["id"]}))["opportunity"]["decisionMap"]
    assert [(n["id"], n["kind"], n["role"]) for n in found["nodes"]] == [
        (person, "CONTACT", "DECISION_MAKER")]
    assert found["coverage"]["completeness"] == ONE_ROLE
    assert "DECISION_MAKER" not in found["coverage"]["missingRoles"]
    account_map = await api.data(ACCOUNT_MAP, {"id": account})
    assert account_map["account"]["decisionMap"]["nodes"] == []
    # The same person may sit on the account's own committee too, in another role.
    await api.data(SEAT, {"input": seat(account, person, "USER")})
    account_map = await api.data(ACCOUNT_MAP, {"id": account})
    assert account_map["account"]["decisionMap"]["nodes"] == [{"id": person, "role": "USER"}]
    await api.projector.drain()
    # Stored scores are keyed by committee: one row for each of the two committees.
    assert await api.scalar(
        "SELECT array_agg(coalesce(opportunity_id::text, 'account') ORDER BY opportunity_id "
        "NULLS FIRST) FROM influence_scores") == ["account", raw_id(made["id"])]
    found = (await api.data(DEAL_MAP, {"id": made["id"]}))["opportunity"]["decisionMap"]
    assert found["nodes"][0]["influence"] == 1.0


async def test_an_unknown_or_foreign_opportunity_is_refused_and_nothing_is_written(
        api: Api) -> None:
    account, other = await make_account(api), await make_account(api, name="别家公司")
    person = await make_contact(api, account)
    foreign = await deal(api, account=other)
    before = await ledger_counts(api)
    unknown = global_id("Opportunity", str(uuid.uuid4()))
    assert_error(await api.error(SEAT, {"input": seat(account, person, "USER", unknown)}),
                 "NOT_FOUND", "opportunityId")
    assert_error(await api.error(SEAT, {"input": seat(account, person, "USER",
                                                      foreign["id"])}),
                 "BAD_USER_INPUT", "opportunityId")
    assert await ledger_counts(api) == before


async def test_a_hidden_opportunity_is_not_found(api: Api) -> None:
    """sales.east sees the account (theirs) but not admin's deal on an account of 华北: a deal
    id of another account the caller cannot see answers NOT_FOUND, not its existence."""
    mine = await account_of(api, "sales.east", "华东")
    hidden_account = await account_of(api, "admin", "华北")
    hidden = await deal(api, account=hidden_account)
    sales = api.as_user("sales.east")
    person = await make_contact(sales, mine)
    before = await ledger_counts(api)
    assert_error(await sales.error(SEAT, {"input": seat(mine, person, "USER", hidden["id"])}),
                 "NOT_FOUND", "opportunityId")
    after = await ledger_counts(api)
    # The attempt on a deal outside the caller's scope is audited; nothing else is written.
    assert after.pop("audit_log") == before.pop("audit_log") + 1
    assert after == before


async def test_solution_needs_a_decision_maker_on_the_deals_committee(api: Api) -> None:
    account = await make_account(api)
    made = await move(api, await deal(api, account=account), "QUALIFICATION")
    entering = {"input": {"opportunityId": made["id"], "stage": "SOLUTION",
                          "version": made["version"]}}
    error = await api.error(MOVE, entering)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["condition"] == "DECISION_MAKER_ON_COMMITTEE"
    assert "a decision maker on the committee is required" in error["message"]
    user = await make_contact(api, account, name="赵工")
    await api.data(SEAT, {"input": seat(account, user, "USER", made["id"])})
    error = await api.error(MOVE, entering)
    assert error["extensions"]["condition"] == "DECISION_MAKER_ON_COMMITTEE"
    assert await api.scalar("SELECT stage FROM opportunities") == "QUALIFICATION"
    assert await api.scalar("SELECT count(*) FROM opportunity_stage_history") == 2
    await decision_maker(api, made)
    assert (await move(api, made, "SOLUTION"))["stage"] == "SOLUTION"


async def test_a_deal_without_a_committee_of_its_own_is_judged_by_its_accounts(
        api: Api) -> None:
    account = await make_account(api)
    plain = await move(api, await deal(api, account=account), "QUALIFICATION")
    own = await move(api, await deal(api, account=account), "QUALIFICATION")
    await decision_maker(api, plain, on_account=True)
    assert (await move(api, plain, "SOLUTION"))["stage"] == "SOLUTION"
    # A deal with its own committee is judged by it alone.
    user = await make_contact(api, account, name="钱经理")
    await api.data(SEAT, {"input": seat(account, user, "USER", own["id"])})
    error = await api.error(MOVE, {"input": {"opportunityId": own["id"], "stage": "SOLUTION",
                                             "version": own["version"]}})
    assert error["extensions"]["condition"] == "DECISION_MAKER_ON_COMMITTEE"


async def test_win_features_from_interactions_and_committees_cost_one_statement_each(
        api: Api) -> None:
    account = await make_account(api)
    met, cold = await deal(api, account=account), await deal(api)
    person = await decision_maker(api, met)
    await log(api, account, [person], occurredAt=day(3))
    ids = [uuid.UUID(raw_id(met["id"])), uuid.UUID(raw_id(cold["id"]))]
    assert [name for name, _ in win.FEATURE_SOURCES] == ["days_since_interaction",
                                                         "decision_map_coverage"]
    with recording() as statements:
        async with api.stores.read() as session:
            found = {name: await source(session, ids) for name, source in win.FEATURE_SOURCES}
    assert len([s for s in statements.seen if s.startswith("SELECT")]) == 2
    days = found["days_since_interaction"]
    assert round(days[ids[0]]["days_since_interaction"]) == 3
    assert days[ids[1]] == {"days_since_interaction": win.NO_INTERACTION_DAYS}
    assert found["decision_map_coverage"] == {
        ids[0]: {"decision_map_coverage": ONE_ROLE}, ids[1]: {"decision_map_coverage": 0.0}}


async def test_exposure_names_the_open_deals_each_reader_may_see(api: Api) -> None:
    supplier = await account_of(api, "sales.east", "华东")
    buyer = await account_of(api, "sales.east", "华东")
    far = await account_of(api, "admin", "华北")
    sales = api.as_user("sales.east")
    await supplies(sales, supplier, buyer, "SOLE_SOURCE", "100")
    await supplies(api, buyer, far, "HIGH", "50")
    mine = await deal(sales, account=buyer, name="雷达升级", amount="8000.00")
    theirs = await deal(api.as_user("manager.east"), account=buyer, name="备件",
                        amount="900.00")
    lost = await deal(sales, account=buyer, name="取消项目")
    await move(sales, lost, "LOST", lostReason="预算取消")
    hidden = await deal(api, account=far, name="华北项目", amount="700.00")
    seen = (await sales.data(EXPOSED, {"id": supplier}))["exposure"]
    assert seen == [
        {"account": {"id": buyer, "restricted": False}, "tier": 1, "opportunities": [
            {"id": theirs["id"], "name": "备件", "amount": MASK},
            {"id": mine["id"], "name": "雷达升级", "amount": "8000.00"}]},
        {"account": {"id": far, "restricted": True}, "tier": 2, "opportunities": []}]
    everything = (await api.as_user("finance").data(EXPOSED, {"id": supplier}))["exposure"]
    assert [[(d["id"], d["amount"]) for d in item["opportunities"]] for item in everything] == [
        [(theirs["id"], "900.00"), (mine["id"], "8000.00")], [(hidden["id"], "700.00")]]
