"""Reports over GraphQL: stage conversion, forecasts, weekly snapshots (immutable) and their
accuracy, the win model, on hand-made histories and on the demo pipeline history."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from analytics.pipeline import Period
from auth.actor import Actor
from relational.identity_models import User
from relational.uow import RequestMeta
from services import demo_pipeline, forecasting
from services.identity.users import builtin_actor
from tests.conftest import Api, Seed
from tests.factories import global_id, make_account, make_contact, raw_id
from tests.pipeline_helpers import approved_quote, deal, decision_maker, move

CONVERSION = """query($since: Date, $until: Date) { pipelineConversion(since: $since,
  until: $until) { stage entered advanced rate medianDaysInStage } }"""
FORECAST = """query($period: ForecastPeriod!, $category: ForecastView!, $start: Date) {
  forecast(period: $period, category: $category, start: $start, periods: 2) {
    period amount closed commit bestCase pipeline weighted } }"""


async def sql(api: Api, statement: str) -> None:
    async with api.stores.ledger.sessionmaker() as session:
        await session.execute(text(statement))
        await session.commit()


async def test_conversion_counts_entries_advances_and_median_days(api: Api) -> None:
    a = await deal(api)
    await decision_maker(api, a)
    await move(api, await move(api, a, "QUALIFICATION"), "SOLUTION")
    b = await deal(api)
    await move(api, await move(api, b, "QUALIFICATION"), "LOST", lostReason="预算取消")
    await deal(api)
    # Place the seven moves two days apart from 2026-01-01, in the order they were made.
    await sql(api, "UPDATE opportunity_stage_history SET moved_at = timestamptz "
                   "'2026-01-01 09:00+00' + (id - (SELECT min(id) FROM "
                   "opportunity_stage_history)) * interval '2 days'")
    await sql(api, "UPDATE opportunity_stage_history h SET ended_at = (SELECT min(n.moved_at) "
                   "FROM opportunity_stage_history n WHERE n.opportunity_id = h.opportunity_id "
                   "AND n.id > h.id)")
    rows = (await api.data(CONVERSION, {"since": "2026-01-01", "until": "2026-01-31"})
            )["pipelineConversion"]
    assert rows[:3] == [
        {"stage": "LEAD", "entered": 3, "advanced": 2, "rate": 0.6667, "medianDaysInStage": 2.0},
        {"stage": "QUALIFICATION", "entered": 2, "advanced": 1, "rate": 0.5,
         "medianDaysInStage": 2.0},
        {"stage": "SOLUTION", "entered": 1, "advanced": 0, "rate": 0.0,
         "medianDaysInStage": None}]
    later = (await api.data(CONVERSION, {"since": "2026-01-07", "until": "2026-01-31"})
             )["pipelineConversion"]
    assert [(row["stage"], row["entered"], row["advanced"]) for row in later[:2]] == [
        ("LEAD", 2, 1), ("QUALIFICATION", 1, 0)]
    assert [row["stage"] for row in later] == ["LEAD", "QUALIFICATION", "SOLUTION",
                                               "NEGOTIATION", "CONTRACT", "DELIVERY",
                                               "AFTER_SALES"]


async def test_forecast_categories_are_cumulative_and_weighted(api: Api) -> None:
    account = await make_account(api)
    await deal(api, account=account, amount="100.00", expectedCloseOn="2027-01-15")
    negotiating = await deal(api, account=account, amount="200.00",
                             expectedCloseOn="2027-02-10")
    await move(api, negotiating, "NEGOTIATION")
    committed = await deal(api, account=account, amount="400.00", expectedCloseOn="2027-03-01")
    await approved_quote(api, committed["id"])
    await move(api, committed, "CONTRACT")
    won = await deal(api, account=account, amount="300.00", expectedCloseOn="2026-11-30")
    await move(api, won, "WON")
    await sql(api, "UPDATE opportunities SET closed_at = '2026-11-15 10:00+00' "
                   "WHERE status = 'WON'")
    body = await api.data(FORECAST, {"period": "QUARTER", "category": "COMMIT",
                                     "start": "2026-10-01"})
    assert body["forecast"] == [
        {"period": "2026-Q4", "amount": "300.00", "closed": "300.00", "commit": "300.00",
         "bestCase": "300.00", "pipeline": "300.00", "weighted": "300.00"},
        {"period": "2027-Q1", "amount": "400.00", "closed": "0.00", "commit": "400.00",
         "bestCase": "600.00", "pipeline": "700.00", "weighted": "445.00"}]
    months = await api.data(FORECAST, {"period": "MONTH", "category": "PIPELINE",
                                       "start": "2027-01-01"})
    assert [(row["period"], row["amount"]) for row in months["forecast"]] == [
        ("2027-01", "100.00"), ("2027-02", "200.00")]


async def test_a_snapshot_is_taken_once_a_week_and_never_changes(api: Api) -> None:
    made = await deal(api, amount="1000.00", expectedCloseOn="2026-12-20")
    await move(api, made, "NEGOTIATION")
    take = "mutation { forecastSnapshotTake { created snapshot { weekStart rows { kind " \
           "period ownerId weighted } } } }"
    first = (await api.data(take))["forecastSnapshotTake"]
    assert first["created"] is True
    await sql(api, "UPDATE opportunities SET amount = 5")
    again = (await api.data(take))["forecastSnapshotTake"]
    assert again == {**first, "created": False}
    with pytest.raises(DBAPIError, match="never change once taken"):
        await sql(api, "UPDATE forecast_snapshots SET rows = '[]'")
    with pytest.raises(DBAPIError, match="never change once taken"):
        await sql(api, "DELETE FROM forecast_snapshots")
    listed = await api.data("{ forecastSnapshots { weekStart rows { period } } }")
    assert len(listed["forecastSnapshots"]) == 1
    # A salesperson sees only their own rows (the totals are finance's and admins').
    own = await api.as_user("sales.east").data("{ forecastSnapshots { rows { ownerId } } }")
    assert own["forecastSnapshots"][0]["rows"] == []


async def test_accuracy_compares_past_snapshots_with_what_was_won(api: Api) -> None:
    made = await deal(api, amount="1000.00", expectedCloseOn="2026-12-20")
    await move(api, made, "NEGOTIATION")  # weighted: 60 % of 1000
    async with api.stores.uow(RequestMeta(actor="test")) as uow:
        await forecasting.take_snapshot(uow, today=date(2026, 11, 2))
    await move(api, {**made, "version": 2}, "WON")
    await sql(api, "UPDATE opportunities SET closed_at = '2026-12-10 10:00+00'")
    admin = await actor(api, "admin")
    found = await forecasting.accuracy(api.stores.read, admin, Period.MONTH,
                                       "weighted", "CNY", today=date(2027, 1, 5))
    total = [row for row in found if row.owner_id is None and row.period == "2026-12"]
    assert [(row.snapshots, row.mape) for row in total] == [(1, 40.0)]


async def actor(api: Api, username: str) -> Actor:
    async with api.stores.ledger.sessionmaker() as session:
        user = (await session.execute(text("SELECT id FROM users WHERE username = :u"),
                                      {"u": username})).scalar_one()
        row = await session.get(User, user)
        assert row is not None
        return builtin_actor(row)


async def test_the_demo_history_trains_a_model_and_scores_open_deals(api: Api,
                                                                     seed: Seed) -> None:
    accounts = [await make_account(api, name=f"演示客户{n}") for n in range(6)]
    for n, account in enumerate(accounts):
        await make_contact(api, account, name=f"决策人{n}")
    owner, signer = await actor(api, "sales.east"), await actor(api, "manager.east")
    async with api.stores.uow(RequestMeta(actor="test")) as uow:
        counts = await demo_pipeline.seed(
            uow, api.stores.cipher, signer,
            [(uuid.UUID(raw_id(a)), owner) for a in accounts], deals=300,
            now=datetime.now(UTC))
    assert counts["opportunities"] == 300 and counts["forecast_snapshots"] == 26
    # Every deal that entered SOLUTION has the decision maker that stage requires.
    assert counts["committee_members"] == await api.scalar(
        "SELECT count(DISTINCT opportunity_id) FROM opportunity_stage_history "
        "WHERE to_stage = 'SOLUTION'")
    assert await api.scalar(
        "SELECT count(*) FROM opportunity_stage_history h WHERE h.to_stage = 'SOLUTION' AND "
        "NOT EXISTS (SELECT 1 FROM committee_members m WHERE m.opportunity_id = "
        "h.opportunity_id AND 'DECISION_MAKER' = ANY (m.roles))") == 0
    assert counts["committee_members"] > 100
    trained = await api.data("mutation { winModelTrain { model { kind samples auc brier "
                             "version } } }")
    model = trained["winModelTrain"]["model"]
    assert model["kind"] == "LOGISTIC" and model["version"] == 1
    assert 0.5 < model["auc"] <= 1.0 and 0.0 < model["brier"] < 0.25
    body = await api.as_user("sales.east").data(
        "{ opportunities(status: OPEN, first: 50) { edges { node { winProbability "
        "risks { reason weight } } } } }")
    scores = [edge["node"] for edge in body["opportunities"]["edges"]]
    assert scores and all(0 <= node["winProbability"] <= 1 for node in scores)
    assert len({node["winProbability"] for node in scores}) > 5  # the model tells deals apart
    assert any(node["risks"] for node in scores)
    for node in scores:
        if node["risks"]:
            assert abs(sum(risk["weight"] for risk in node["risks"]) - 1) < 0.01
    contract = await api.scalar("SELECT id FROM contracts WHERE status = 'SIGNED' LIMIT 1")
    check = await api.data("query($id: ID!) { contractVerify(contractId: $id) { valid "
                           "signer } }", {"id": global_id("Contract", str(contract))})
    assert check["contractVerify"] == {"valid": True, "signer": "manager.east"}
    accuracy = await api.data("{ forecastAccuracy(period: MONTH) { period mape snapshots } }")
    assert any(row["mape"] is not None for row in accuracy["forecastAccuracy"])


async def test_with_few_closed_deals_the_rule_based_score_is_used(api: Api) -> None:
    made = await deal(api)
    trained = await api.data("mutation { winModelTrain { model { kind samples auc } } }")
    assert trained["winModelTrain"]["model"] == {"kind": "RULES", "samples": 0, "auc": None}
    body = await api.data("query($id: ID!) { opportunity(id: $id) { winProbability risks { "
                          "reason } } }", {"id": made["id"]})
    assert body["opportunity"] == {"winProbability": 0.05, "risks": []}

