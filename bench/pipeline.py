"""Pipeline figures (`make bench`, or alone: `python -m bench.pipeline`): 100,000
opportunities and about a million stage-history rows, COPY-loaded from the demo simulation;
then the conversion report, the pipeline list page, the forecast, the forecast backtest (MAPE
of weekly snapshots replayed from the history) and the win model's AUC and Brier score
against a stage-only baseline on held-out deals. Figures are printed, never asserted."""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg.types.json import Jsonb

from analytics.pipeline import Period
from auth.actor import Actor, Clearance, DataScope
from auth.roles import PERMISSIONS
from bench.config import BenchConfig, progress
from bench.identity import log_in_admin
from bench.runner import call
from bench.seed import conninfo
from bench.stores import app_settings, direct_stores, serve, stores_up
from relational import pipeline_models as models
from relational.migrate import upgrade
from relational.repositories import opportunities as repo
from relational.uow import RequestMeta
from services import demo_pipeline, forecasting, win
from services.demo_pipeline import Owner, Rows
from services.stores import Stores

DEALS = int(os.environ.get("BENCH_DEALS", "100000"))
CHUNK = 10_000
# More re-evaluations and longer walks than the demo: ~10 moves a deal, ~1M history rows.
BACK, LUCK = 0.42, (1.2, 1.6)
CONVERSION = """query($since: Date) { pipelineConversion(since: $since) { stage entered
  advanced rate medianDaysInStage } }"""
PAGE = """query($after: String) { opportunities(first: 50, after: $after) { pageInfo {
  endCursor } edges { node { id name stage status amount currency owner { username }
  account { id } } } } }"""
BASELINE = "{ me { username } }"
FORECAST = """{ forecast(period: QUARTER, category: COMMIT, periods: 4) { period amount
  weighted model } }"""


def _copy(conn: psycopg.Connection[Any], model: type[Any], rows: Sequence[dict[str, Any]]
          ) -> None:
    if not rows:
        return
    columns = list(rows[0])
    table = model.__tablename__
    with conn.cursor() as cursor, cursor.copy(
            f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([_cell(row[name]) for name in columns])


def _cell(value: Any) -> Any:
    """JSON documents (a tender's documents) go in as jsonb, everything else as it is."""
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return Jsonb(value)
    return value


def _accounts(conn: psycopg.Connection[Any], owner: Owner, count: int = 1000) -> list[uuid.UUID]:
    found = [row[0] for row in conn.execute("SELECT id FROM accounts LIMIT %s", (count,))]
    if found:
        return found
    ids = [uuid.uuid4() for _ in range(count)]
    with conn.cursor() as cursor, cursor.copy(
            "COPY accounts (id, name, uscc, region, industry, lifecycle_stage, owner_id, "
            "department_id) FROM STDIN") as copy:
        for n, account_id in enumerate(ids):
            copy.write_row([account_id, f"基准客户{n:05d}", f"BENCH{n:013d}", "华东", "电子",
                            "CUSTOMER", owner.user_id, owner.department_id])
    return ids


def load(database_url: str, owner: Owner, now: datetime) -> tuple[Rows, dict[str, int]]:
    """COPY the simulated deals in chunks; the deals (not their documents) are kept for the
    snapshot replay."""
    kept, counts = Rows(), {"opportunities": 0, "opportunity_stage_history": 0}
    with psycopg.connect(conninfo(database_url)) as conn:
        accounts = [(account_id, owner) for account_id in _accounts(conn, owner)]
        for first in range(0, DEALS, CHUNK):
            rows = demo_pipeline.simulate(accounts, deals=min(CHUNK, DEALS - first), now=now,
                                          seed=first + 1, back=BACK, first=first,
                                          luck=LUCK)
            for model in (models.Opportunity, models.StageChange, models.Quote,
                          models.QuoteLine, models.Contract, models.Tender,
                          models.TenderMilestone):
                _copy(conn, model, rows.tables.get(model, []))
                counts[model.__tablename__] = counts.get(model.__tablename__, 0) + len(
                    rows.tables.get(model, []))
            kept.deals.extend(rows.deals)
            progress(f"COPY pipeline: {counts['opportunities']:,} opportunities, "
                     f"{counts['opportunity_stage_history']:,} stage changes")
        conn.commit()
    with psycopg.connect(conninfo(database_url), autocommit=True) as conn:
        for table in ("opportunities", "opportunity_stage_history", "quotes", "tenders"):
            conn.execute(f"VACUUM (ANALYZE) {table}")
    return kept, counts


async def _timed(client: httpx.AsyncClient, query: str, variables: list[dict[str, Any]]
                 ) -> list[float]:
    times = []
    for given in variables:
        started = time.perf_counter()
        await call(client, query, given)
        times.append((time.perf_counter() - started) * 1000)
    return times


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]


async def _pages(client: httpx.AsyncClient, count: int) -> list[float]:
    times, after = [], None
    for _ in range(count):
        started = time.perf_counter()
        data = await call(client, PAGE, {"after": after})
        times.append((time.perf_counter() - started) * 1000)
        after = data["opportunities"]["pageInfo"]["endCursor"]
    return times


async def measure(stores: Stores, client: httpx.AsyncClient, database_url: str) -> str:
    """Load, train, measure; the report as text. `client` is logged in as an admin."""
    now = datetime.now(UTC)
    admin_id = _admin(database_url)
    started = time.perf_counter()
    rows, counts = await asyncio.to_thread(load, database_url, admin_id, now)
    load_s = time.perf_counter() - started
    progress("training the win model on the closed deals (in a thread)")
    started = time.perf_counter()
    async with stores.uow(RequestMeta(actor="system:bench")) as uow:
        model = await win.train(uow, minimum=stores.settings.min_closed_deals_to_train)
    train_s = time.perf_counter() - started
    progress("measuring the conversion report, the pipeline list and the forecast")
    since = (now - timedelta(days=365)).date().isoformat()
    conversion = await _timed(client, CONVERSION, [{"since": since}] * 6)
    quarter = (now - timedelta(days=91)).date().isoformat()
    conversion_q = await _timed(client, CONVERSION, [{"since": quarter}] * 6)
    pages = await _pages(client, 60)
    forecasts = await _timed(client, FORECAST, [{}] * 60)
    baseline = await _timed(client, BASELINE, [{}] * 60)
    mape = await _backtest(stores, rows, now)
    return "\n".join([
        "=== pipeline ===",
        f"loaded {counts['opportunities']:,} opportunities, "
        f"{counts['opportunity_stage_history']:,} stage-history rows, "
        f"{counts.get('quotes', 0):,} quotes, {counts.get('tenders', 0):,} tenders "
        f"in {load_s:.1f} s",
        f"conversion report (1 year): median {statistics.median(conversion[1:]):.0f} ms, "
        f"max {max(conversion[1:]):.0f} ms; last quarter: median "
        f"{statistics.median(conversion_q[1:]):.0f} ms (target ≤ 500 ms)",
        f"pipeline list page (50, following cursors): p95 {_p95(pages[5:]):.1f} ms "
        f"(target ≤ 50 ms)",
        f"forecast (4 quarters): p95 {_p95(forecasts[5:]):.1f} ms (target ≤ 100 ms)",
        f"for scale, `{{ me {{ username }} }}` (authentication, rate limit, parsing): p95 "
        f"{_p95(baseline[5:]):.1f} ms; load average {os.getloadavg()[0]:.1f} on 2 cores",
        f"forecast backtest, 26 weekly snapshots, monthly periods: MAPE weighted "
        f"{mape['weighted']:.1f} %, commit {mape['commit']:.1f} %, model {mape['model']:.1f} %",
        f"win model v{model.version} ({model.kind}, {model.samples:,} closed deals, trained in "
        f"{train_s:.1f} s): AUC {model.auc} / Brier {model.brier}; stage-only baseline: "
        f"AUC {model.baseline_auc} / Brier {model.baseline_brier} (held-out quarter)",
    ])


def _admin(database_url: str) -> Owner:
    with psycopg.connect(conninfo(database_url)) as conn:
        row = conn.execute("SELECT id, department_ids FROM users WHERE 'admin' = ANY(roles) "
                           "ORDER BY created_at LIMIT 1").fetchone()
    if row is None:
        raise RuntimeError("log an admin in first")
    return Owner(row[0], row[1][0] if row[1] else None)


# Who reads the backtest: everything, like finance and admins.
READER = Actor(kind="user", user_id=uuid.uuid4(), username="bench", permissions=frozenset(
    PERMISSIONS), scope=DataScope.ALL, clearance=Clearance.CONFIDENTIAL)


async def _backtest(stores: Stores, rows: Rows, now: datetime) -> dict[str, float]:
    """Replay 26 weekly snapshots from the loaded history and score them against what
    actually closed (total rows, monthly periods that have ended)."""
    progress("replaying 26 weekly forecast snapshots and scoring them")
    snapshots = demo_pipeline.past_snapshots(rows, now=now)
    async with stores.uow(RequestMeta(actor="system:bench")) as uow:
        await repo.bulk_insert(uow.session, models.ForecastSnapshot, snapshots)
    found = {}
    for category in ("weighted", "commit", "model"):
        rows_ = await forecasting.accuracy(stores.read, READER, Period.MONTH, category, "CNY",
                                           today=now.date())
        values = [row.mape for row in rows_ if row.owner_id is None and row.mape is not None]
        found[category] = statistics.fmean(values) if values else float("nan")
    return found


async def _standalone(workdir: Path) -> None:
    config = BenchConfig.from_env()
    with stores_up(config, workdir) as urls:
        progress("migrating")
        upgrade(urls.database)
        settings = app_settings(urls, workdir)
        async with direct_stores(settings) as stores, serve(settings) as url, \
                httpx.AsyncClient(base_url=url, timeout=120) as client:
            await log_in_admin(stores, client)
            print(await measure(stores, client, urls.database))


def main() -> int:
    workdir = Path(tempfile.mkdtemp(prefix="crm-bench-pipeline-"))
    try:
        asyncio.run(_standalone(workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
