"""Lifecycle transitions and their actions, value tiers, campaigns with ROI, tasks and
notifications through GraphQL."""

from __future__ import annotations

from tests.conftest import Api
from tests.factories import ledger_counts, make_account
from tests.jobs_helpers import RunJobs

TRANSITION = """mutation($input: AccountLifecycleTransitionInput!) {
  accountLifecycleTransition(input: $input) { account { id lifecycleStage } } }"""
ACCOUNT = "query($id: ID!) { account(id: $id) { lifecycleStage valueTier tags { name } } }"
INBOX = """{ myInbox(first: 20) { edges { node { __typename kind title dueAt
  ... on Notification { channels } } } } }"""
CAMPAIGN = """mutation($input: CampaignCreateInput!) { campaignCreate(input: $input) {
  campaign { id name budget cost currency } } }"""
READ_CAMPAIGN = "query($id: ID!) { campaign(id: $id) { roi members { totalCount } } }"


async def test_a_transition_by_hand_is_recorded_and_runs_its_actions(
        api: Api, run_jobs: RunJobs) -> None:
    sales = api.as_user("sales.east")
    account = await make_account(sales, name="温州瓯江阀门有限公司", lifecycleStage="CUSTOMER")
    await api.data(CAMPAIGN, {"input": {"name": "流失挽回", "budget": "5000",
                                        "segment": 'lifecycleStage = "CHURNED"'}})
    moved = await sales.data(TRANSITION, {"input": {"accountId": account, "to": "CHURNED",
                                                    "reason": "半年无联系"}})
    assert moved["accountLifecycleTransition"]["account"]["lifecycleStage"] == "CHURNED"
    row = await api.scalar("SELECT row_to_json(t) FROM lifecycle_transitions t "
                           "WHERE to_stage = 'CHURNED'")
    assert (row["from_stage"], row["reason"], row["actor"]) == ("CUSTOMER", "半年无联系",
                                                                "sales.east")
    inbox = (await sales.data(INBOX))["myInbox"]["edges"]
    assert sorted((edge["node"]["__typename"], edge["node"]["kind"]) for edge in inbox) == [
        ("Notification", "lifecycle.changed")]  # the task is due in three days
    assert inbox[0]["node"]["channels"] == ["IN_APP", "EMAIL"]
    await run_jobs()  # the e-mail copy and the value tier
    mail = (api.stores.settings.data_dir / "mail-outbox.log").read_text(encoding="utf-8")
    assert "温州瓯江阀门有限公司: 成交 → 流失" in mail
    assert await api.scalar("SELECT count(*) FROM campaign_members") == 1
    assert await api.scalar("SELECT count(*) FROM user_tasks WHERE kind = 'lifecycle.churned'") \
        == 1
    same = await sales.error(TRANSITION, {"input": {"accountId": account, "to": "CHURNED",
                                                    "reason": "again"}})
    assert (same["extensions"]["code"], same["extensions"]["field"]) == ("BAD_USER_INPUT", "to")
    hidden = await api.as_user("sales.north").error(TRANSITION, {"input": {
        "accountId": account, "to": "LOYAL", "reason": "x"}})
    assert hidden["extensions"]["code"] == "NOT_FOUND"


async def test_value_tiers_follow_the_documented_rule(api: Api, run_jobs: RunJobs) -> None:
    ids = {tier: await make_account(api, name=f"分级{tier}", annualRevenue=revenue)
           for tier, revenue in (("A", "600000000"), ("B", "150000000"), ("C", "20000000"),
                                 ("D", "5"))}
    await run_jobs()
    for tier, account in ids.items():
        assert (await api.data(ACCOUNT, {"id": account}))["account"]["valueTier"] == tier


async def test_a_campaign_enrols_its_segment_and_reports_roi(api: Api) -> None:
    for name, region in (("华东一", "华东"), ("华东二", "华东"), ("华北一", "华北")):
        await make_account(api, name=name, region=region)
    made = (await api.data(CAMPAIGN, {"input": {
        "name": "华东展会", "budget": "100000", "cost": "25000", "currency": "CNY",
        "segment": 'region = "华东"'}}))["campaignCreate"]["campaign"]
    assert (made["budget"], made["cost"], made["currency"]) == ("100000.00", "25000.00", "CNY")
    found = (await api.data(READ_CAMPAIGN, {"id": made["id"]}))["campaign"]
    # Nothing won is attributed yet: ROI = (0 − 25000) / 25000.
    assert found == {"roi": "-1.0000", "members": {"totalCount": 2}}
    north = (await api.as_user("sales.north").data(READ_CAMPAIGN, {"id": made["id"]}))
    assert north["campaign"]["members"]["totalCount"] == 0  # members they cannot see: none


async def test_bad_campaign_input_writes_nothing(api: Api) -> None:
    before = await ledger_counts(api)
    for given, field in (({"budget": "-1"}, "budget"), ({"segment": "region = 1"}, "segment"),
                         ({"currency": "rmb"}, "currency")):
        error = await api.error(CAMPAIGN, {"input": {
            "name": "坏", "budget": "10", "segment": 'region = "华东"', **given}})
        assert (error["extensions"]["code"], error["extensions"]["field"]) == (
            "BAD_USER_INPUT", field), given
    assert await ledger_counts(api) == before

