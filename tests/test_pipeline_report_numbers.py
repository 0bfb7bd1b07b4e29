"""The conversion report and the forecast through GraphQL, checked number for number against a
straightforward computation from the raw deals and stage moves of a fixed dataset (the demo
history on accounts of two salespeople, one of them classified above their clearance, plus
moves made through the API): for callers of every scope, with segments. The reference counts
only the deals the caller's own `opportunities` list shows (and, for amounts, those it shows
unmasked), so a report that counted a hidden deal fails here."""

from __future__ import annotations

import statistics
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from analytics.pipeline import Period, period_of, period_start, shift
from relational.identity_models import User
from relational.uow import RequestMeta
from services import demo_pipeline
from services.identity.users import builtin_actor
from services.pipelines import DEFAULT, ForecastCategory
from tests.conftest import Api
from tests.factories import global_id, make_account, raw_id
from tests.pipeline_helpers import deal, move

CONVERSION = """query($since: Date, $until: Date, $segment: PipelineSegment) {
  pipelineConversion(since: $since, until: $until, segment: $segment) {
    stage entered advanced rate medianDaysInStage } }"""
FORECAST = """query($period: ForecastPeriod!, $start: Date, $segment: PipelineSegment) {
  forecast(period: $period, category: COMMIT, start: $start, periods: 6, segment: $segment) {
    period amount closed commit bestCase pipeline weighted model } }"""
LIST = """query($after: String) { opportunities(first: 100, after: $after) {
  pageInfo { hasNextPage endCursor } edges { node { id amount } } } }"""
CALLERS = ("admin", "finance", "manager.east", "sales.east", "sales.north")


@dataclass(frozen=True)
class Deal:
    owner_id: uuid.UUID
    department_id: uuid.UUID | None
    region: str
    industry: str
    status: str
    stage: str
    amount: Decimal
    closed_at: datetime | None
    expected_close_on: date


@dataclass(frozen=True)
class Move:
    deal: uuid.UUID
    stage: str
    at: datetime


async def _rows(api: Api, statement: str, **given: Any) -> list[Any]:
    async with api.stores.ledger.sessionmaker() as session:
        return list((await session.execute(text(statement), given)).all())


async def _facts(api: Api) -> tuple[dict[uuid.UUID, Deal], list[Move]]:
    deals = {row[0]: Deal(*row[1:]) for row in await _rows(
        api, "SELECT o.id, o.owner_id, o.department_id, a.region, a.industry, o.status, "
             "o.stage, o.amount, o.closed_at, o.expected_close_on FROM opportunities o "
             "JOIN accounts a ON a.id = o.account_id")}
    moves = [Move(*row) for row in await _rows(
        api, "SELECT opportunity_id, to_stage, moved_at FROM opportunity_stage_history "
             "ORDER BY opportunity_id, moved_at, id")]
    return deals, moves


async def _listed(api: Api) -> dict[uuid.UUID, bool]:
    """The deals the caller's list shows, each with whether its amount is unmasked."""
    found: dict[uuid.UUID, bool] = {}
    after = None
    while True:
        page = (await api.data(LIST, {"after": after}))["opportunities"]
        for edge in page["edges"]:
            found[uuid.UUID(raw_id(edge["node"]["id"]))] = "*" not in edge["node"]["amount"]
        if not page["pageInfo"]["hasNextPage"]:
            return found
        after = page["pageInfo"]["endCursor"]


def _conversion(deals: set[uuid.UUID], moves: list[Move], since: date,
                until: date | None) -> list[dict[str, Any]]:
    """Every stay (one move into a stage) that began in the period: it advanced when a later
    move of its deal reached a further stage; it lasted until the deal's next move."""
    by_deal: dict[uuid.UUID, list[Move]] = defaultdict(list)
    for found in moves:
        by_deal[found.deal].append(found)
    entered: dict[str, int] = defaultdict(int)
    advanced: dict[str, int] = defaultdict(int)
    days: dict[str, list[float]] = defaultdict(list)
    start = datetime.combine(since, time(), UTC)
    end = None if until is None else datetime.combine(until + timedelta(days=1), time(), UTC)
    for deal_id in deals:
        stays = by_deal[deal_id]
        for i, stay in enumerate(stays):
            if stay.at < start or (end is not None and stay.at >= end):
                continue
            entered[stay.stage] += 1
            rank = DEFAULT.rank(stay.stage)
            if any(DEFAULT.rank(later.stage) > rank for later in stays[i + 1:]):
                advanced[stay.stage] += 1
            if i + 1 < len(stays):
                days[stay.stage].append((stays[i + 1].at - stay.at).total_seconds() / 86400)
    return [{"stage": stage.key, "entered": entered[stage.key],
             "advanced": advanced[stage.key],
             "rate": round(advanced[stage.key] / entered[stage.key], 4)
             if entered[stage.key] else 0.0,
             "medianDaysInStage": round(statistics.median(days[stage.key]), 2)
             if days[stage.key] else None} for stage in DEFAULT.stages]


def _forecast(deals: list[Deal], start: date) -> list[dict[str, str]]:
    """Six months from `start`: won deals by the month they closed, open ones by the month
    they are expected to close, in cumulative categories; weighted by the stage's default
    probability (no model is trained here, so the model-based view equals it)."""
    labels = [period_of(shift(start, Period.MONTH, n), Period.MONTH) for n in range(6)]
    sums: dict[str, defaultdict[str, Decimal]] = {
        label: defaultdict(lambda: Decimal("0.00")) for label in labels}
    for found in deals:
        day = found.closed_at.date() if found.closed_at is not None else found.expected_close_on
        row = sums.get(period_of(day, Period.MONTH))
        if row is None or found.status == "LOST":
            continue
        if found.status == "WON":
            for name in ("closed", "commit", "bestCase", "pipeline", "weighted"):
                row[name] += found.amount
            continue
        stage = DEFAULT.stage(found.stage)
        assert stage is not None
        if stage.category is ForecastCategory.COMMIT:
            row["commit"] += found.amount
        if stage.category in (ForecastCategory.COMMIT, ForecastCategory.BEST_CASE):
            row["bestCase"] += found.amount
        row["pipeline"] += found.amount
        row["weighted"] += (found.amount * stage.probability).quantize(Decimal("0.01"))
    return [{"period": label, "amount": str(sums[label]["commit"]),
             **{name: str(sums[label][name]) for name in ("closed", "commit", "bestCase",
                                                          "pipeline", "weighted")},
             "model": str(sums[label]["weighted"])} for label in labels]


async def _user_id(api: Api, username: str) -> uuid.UUID:
    found: uuid.UUID = (await _rows(api, "SELECT id FROM users WHERE username = :u",
                                    u=username))[0][0]
    return found


async def _actor(api: Api, username: str) -> Any:
    async with api.stores.ledger.sessionmaker() as session:
        user = await session.get(User, await _user_id(api, username))
        assert user is not None
        return builtin_actor(user)


@pytest.fixture
async def history(api: Api) -> Api:
    """Demo history on three accounts of sales.east (two 华东 机械制造, one 华东 classified
    SECRET, above a salesperson's clearance) and two of sales.north (华北 电子); then deals
    moved forwards, backwards and closed through the API."""
    east, north = api.as_user("sales.east"), api.as_user("sales.north")
    accounts = [(await make_account(east, name=f"华东客户{n}"), "sales.east") for n in range(2)]
    accounts += [(await make_account(north, name=f"华北客户{n}", region="华北",
                                     industry="电子"), "sales.north") for n in range(2)]
    accounts.append((await make_account(api, name="华东涉密客户", classification="SECRET"),
                     "sales.east"))
    owners = {name: await _actor(api, name) for name in ("sales.east", "sales.north")}
    async with api.stores.uow(RequestMeta(actor="test")) as uow:
        await demo_pipeline.seed(
            uow, api.stores.cipher, await _actor(api, "manager.east"),
            [(uuid.UUID(raw_id(account)), owners[owner]) for account, owner in accounts],
            deals=150, now=datetime.now(UTC))
    for account, owner in accounts[:3]:
        who = api.as_user(owner)
        made = await deal(who, account=account, amount="250000.00",
                          expectedCloseOn=(datetime.now(UTC) + timedelta(days=20)).date()
                          .isoformat())
        made = await move(who, await move(who, made, "QUALIFICATION"), "LEAD")
        await move(who, await move(who, made, "QUALIFICATION"), "LOST", lostReason="预算取消")
        await move(who, await deal(who, account=account, amount="80000.00"), "NEGOTIATION")
    return api


async def test_conversion_equals_a_count_of_the_visible_stays(history: Api) -> None:
    api = history
    deals, moves = await _facts(api)
    today = datetime.now(UTC).date()
    periods = [(today - timedelta(days=365), None), (today - timedelta(days=91), today),
               (today - timedelta(days=3), None)]
    east_owner = await _user_id(api, "sales.east")
    segments: list[tuple[dict[str, str] | None, Any]] = [
        (None, lambda found: True),
        ({"region": "华北"}, lambda found: found.region == "华北"),
        ({"industry": "机械制造", "ownerId": global_id("User", str(east_owner))},
         lambda found: found.industry == "机械制造" and found.owner_id == east_owner)]
    for username in CALLERS:
        caller = api.as_user(username)
        listed = set(await _listed(caller))
        for segment, keep in segments:
            wanted = {key for key in listed if keep(deals[key])}
            for since, until in periods:
                body = await caller.data(CONVERSION, {
                    "since": since.isoformat(),
                    "until": None if until is None else until.isoformat(),
                    "segment": segment})
                assert body["pipelineConversion"] == _conversion(wanted, moves, since, until), \
                    (username, segment, since, until)
    # The dataset tells scopes apart: the salespeople see their own deals only, and
    # sales.east not those on the account above their clearance.
    secret = {key for key, found in deals.items() if found.region == "华东"} - \
        set(await _listed(api.as_user("manager.east")))
    assert set(await _listed(api)) == set(deals)
    assert not secret & set(await _listed(api.as_user("sales.east")))
    assert {deals[key].owner_id for key in await _listed(api.as_user("sales.east"))} == \
        {east_owner}


async def test_forecast_equals_a_sum_of_the_visible_amounts(history: Api) -> None:
    api = history
    deals, _ = await _facts(api)
    start = period_start(datetime.now(UTC).date() - timedelta(days=62), Period.MONTH)
    segments: list[tuple[dict[str, str] | None, Any]] = [
        (None, lambda found: True), ({"region": "华北"}, lambda found: found.region == "华北")]
    seen_totals = set()
    for username in CALLERS:
        caller = api.as_user(username)
        amounts = {key for key, unmasked in (await _listed(caller)).items() if unmasked}
        for segment, keep in segments:
            body = await caller.data(FORECAST, {"period": "MONTH", "start": start.isoformat(),
                                                "segment": segment})
            expected = _forecast([deals[key] for key in amounts if keep(deals[key])], start)
            assert body["forecast"] == expected, (username, segment)
            seen_totals.add(sum(Decimal(row["pipeline"]) for row in expected))
    # Callers of different scopes get different figures from this dataset.
    assert len(seen_totals) >= 3
