"""Customer operations over the tables of the decision-map (interactions, contract B) and
pipeline (opportunities, contract C) domains: tag rule counts, the first-won-deal lifecycle
rule and campaign ROI from attributed opportunities."""

from __future__ import annotations

import uuid

from sqlalchemy import text

from composition import Runtime
from relational.uow import RequestMeta
from services import lifecycle
from services.pipelines import DEFAULT_PIPELINE_ID
from tests.conftest import Api
from tests.factories import make_account


def raw(global_id: str) -> uuid.UUID:
    import base64

    return uuid.UUID(base64.b64decode(global_id).decode().split(":", 1)[1])


async def sql(api: Api, statement: str, **params: object) -> None:
    async with api.stores.ledger.sessionmaker() as session:
        await session.execute(text(statement), params)
        await session.commit()


async def interaction(api: Api, account: uuid.UUID, channel: str, days_ago: int) -> None:
    admin = await api.scalar("SELECT id FROM users WHERE username = 'admin'")
    await sql(api, "INSERT INTO interactions (id, account_id, user_id, channel, direction, "
                   "occurred_at, subject, created_at) VALUES (gen_random_uuid(), :a, :u, :c, "
                   "'INBOUND', now() - make_interval(days => :d), 'x', now())",
              a=account, u=admin, c=channel, d=days_ago)


async def won(api: Api, account: uuid.UUID, amount: str, campaign: uuid.UUID | None) -> None:
    admin = await api.scalar("SELECT id FROM users WHERE username = 'admin'")
    await sql(api, "INSERT INTO opportunities (id, account_id, owner_id, name, amount, "
                   "currency, pipeline_id, stage, status, closed_at, expected_close_on, "
                   "campaign_id, version, created_at, updated_at) VALUES (gen_random_uuid(), "
                   ":a, :u, 'deal', :m, 'CNY', :p, 'WON', 'WON', now(), current_date, :c, 1, "
                   "now(), now())", a=account, u=admin, m=amount, c=campaign,
              p=DEFAULT_PIPELINE_ID)


async def test_high_intent_rule_over_interactions_and_won_deals(api: Api) -> None:
    hot = raw(await make_account(api, name="咨询频繁"))
    closed = raw(await make_account(api, name="已成交"))
    for _ in range(5):
        await interaction(api, hot, "CONSULTATION", 3)
        await interaction(api, closed, "CONSULTATION", 3)
    await interaction(api, hot, "CONSULTATION", 45)  # outside the period
    await won(api, closed, "100", None)
    rule = 'interactions(channel: "咨询", days: 30) >= 5 and wonOpportunities(days: 365) = 0'
    found = await api.data("query($e: String!) { tagRulePreview(expression: $e) { matchCount "
                           "sample { name } } }", {"e": rule})
    assert found["tagRulePreview"] == {"matchCount": 1, "sample": [{"name": "咨询频繁"}]}


async def test_first_won_deal_makes_a_customer(api: Api, runtime: Runtime) -> None:
    account = raw(await make_account(api, name="首单客户", lifecycleStage="INTENT"))
    await won(api, account, "5000", None)
    async with runtime.stores.uow(RequestMeta(actor="test")) as uow:
        assert await lifecycle.apply_rules(uow, runtime.stores.settings,
                                           runtime.stores.clock.now()) == 1
    assert await api.scalar("SELECT lifecycle_stage FROM accounts WHERE id = :i",
                            i=account) == "CUSTOMER"
    assert await api.scalar("SELECT rule FROM lifecycle_transitions WHERE account_id = :i",
                            i=account) == "first-won-deal"



async def test_campaign_roi_counts_its_won_opportunities(api: Api) -> None:
    await make_account(api, name="展会客户")
    made = await api.data("""mutation { campaignCreate(input: {name: "展会", budget: "1000",
        cost: "400", segment: "annualRevenue >= 0 or annualRevenue < 0"}) {
        campaign { id } } }""")
    campaign = raw(made["campaignCreate"]["campaign"]["id"])
    account = await api.scalar("SELECT id FROM accounts LIMIT 1")
    await won(api, account, "1000", campaign)
    await won(api, account, "600", None)  # not attributed
    found = await api.data("query($id: ID!) { campaign(id: $id) { roi } }",
                           {"id": made["campaignCreate"]["campaign"]["id"]})
    assert found["campaign"]["roi"] == "1.5000"
