"""Customer operations figures: 20 tag rules evaluated over every account (full) and for one
account after an event, the ticket list page through GraphQL (p95), and a burst of 10,000 due
SLA timers run by the scheduler (throughput). `measure` runs inside `make bench` (over its
100,000 accounts); `python -m bench.operations` seeds 100,000 plain accounts by itself."""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import text

from bench.config import BenchConfig, progress
from bench.identity import log_in_admin
from bench.runner import call
from bench.stores import app_settings, direct_stores, serve, stores_up
from jobs import scheduler
from jobs.runtime import JobRuntime
from relational.migrate import upgrade
from relational.uow import RequestMeta
from services import tag_rules
from services.stores import Stores

RULES = [
    ('region = "华东" and annualRevenue > 100000000', "ATTRIBUTE"),
    ('region = "华北" or region = "东北"', "ATTRIBUTE"),
    ('not (lifecycleStage = "CHURNED")', "ATTRIBUTE"),
    ('lifecycleStage = "CUSTOMER" and annualRevenue >= 50000000', "VALUE"),
    ("annualRevenue >= 1000000000", "VALUE"),
    ("annualRevenue < 30000000", "VALUE"),
    ('valueTier = "A" or valueTier = "B"', "VALUE"),
    ("tickets(days: 365) >= 2", "BEHAVIOUR"),
    ('tickets(category: "投诉", days: 90) >= 1', "BEHAVIOUR"),
    ('tickets(days: 30) = 0 and lifecycleStage = "LOYAL"', "BEHAVIOUR"),
    ('region = "华南" and tagCount >= 2', "ATTRIBUTE"),
    ('region = "西南" and annualRevenue > 200000000', "ATTRIBUTE"),
    ('region = "西北" and not (annualRevenue > 500000000)', "ATTRIBUTE"),
    ('region = "华中" and lifecycleStage = "INTENT"', "ATTRIBUTE"),
    ('lifecycleStage = "POTENTIAL" and annualRevenue > 300000000', "VALUE"),
    ('tickets(category: "售后", days: 365) >= 1 and annualRevenue > 80000000', "BEHAVIOUR"),
    ('(region = "华东" or region = "华南") and lifecycleStage = "CUSTOMER"', "ATTRIBUTE"),
    ("annualRevenue >= 100000000 and annualRevenue < 400000000", "VALUE"),
    ('tagCount = 0 and region = "华北"', "ATTRIBUTE"),
    ('not (region = "华东") and tickets(days: 180) >= 1', "BEHAVIOUR"),
]
TICKET_PAGE = """query($after: String) { tickets(first: 20, after: $after) {
  edges { cursor node { id subject state slaDueAt assignee { id } account { id } } } } }"""
TICKETS, TIMERS, PAGE_REQUESTS, EVENT_SAMPLES = 2_000, 10_000, 200, 50


async def _sql(stores: Stores, statement: str, **params: object) -> None:
    async with stores.ledger.sessionmaker() as session:
        await session.execute(text(statement), params)
        await session.commit()


async def _admin_id(stores: Stores) -> uuid.UUID:
    async with stores.read() as session:
        found = await session.scalar(text(
            "SELECT id FROM users WHERE 'admin' = ANY(roles) ORDER BY created_at LIMIT 1"))
    return uuid.UUID(str(found))


async def _tickets(stores: Stores, count: int, *, due_in: str) -> None:
    """`count` open tickets on accounts spread over the ledger, straight into it (one join
    on the accounts' row numbers: an OFFSET per ticket would read the table 10,000 times)."""
    await _sql(stores, f"""
        WITH numbered AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM accounts),
             total AS (SELECT count(*) AS c FROM accounts)
        INSERT INTO tickets (id, account_id, category, priority, channel, subject, state,
                             tier, assign_due_at, resolve_due_at, created_at)
        SELECT gen_random_uuid(), a.id, (ARRAY['售后','安装','投诉','咨询'])[1 + n % 4], 'HIGH',
               'PHONE', '基准工单 ' || n, 'IN_PROGRESS', 'C', now() {due_in},
               now() {due_in}, now() - (n || ' minutes')::interval
        FROM generate_series(1, :count) AS n CROSS JOIN total
        JOIN numbered a ON a.k = (n * 7919) % total.c
        """, count=count)  # noqa: S608 - constants of this module


async def tag_rule_figures(stores: Stores) -> list[str]:
    author = await _admin_id(stores)
    async with stores.ledger.sessionmaker() as session:
        for number, (expression, layer) in enumerate(RULES):
            await session.execute(text(
                "INSERT INTO tag_rules (id, name, layer, expression, enabled, author_id) "
                "VALUES (gen_random_uuid(), :name, :layer, :expression, true, :author)"),
                {"name": f"基准规则{number:02d}", "layer": layer, "expression": expression,
                 "author": author})
        await session.commit()
    started = time.perf_counter()
    async with stores.uow(RequestMeta(actor="system:bench")) as uow:
        changed = await tag_rules.evaluate_all(uow, stores.clock.now())
    full = time.perf_counter() - started
    # Hourly runs over unchanged data: every rule diffs its matches against its recorded tags.
    # The first still changes tags (rules on tagCount see the tags the run before set), the
    # second nothing.
    reruns = []
    for _ in range(2):
        started = time.perf_counter()
        async with stores.uow(RequestMeta(actor="system:bench")) as uow:
            reruns.append((await tag_rules.evaluate_all(uow, stores.clock.now()),
                           time.perf_counter() - started))
    async with stores.read() as session:
        ids = list(await session.scalars(text(
            "SELECT id FROM accounts ORDER BY random() LIMIT :n"), {"n": EVENT_SAMPLES}))
    per_event = []
    for account_id in ids:
        started = time.perf_counter()
        async with stores.uow(RequestMeta(actor="system:bench")) as uow:
            await tag_rules.evaluate_all(uow, stores.clock.now(), [account_id])
        per_event.append((time.perf_counter() - started) * 1000)
    return [f"tag rules: {len(RULES)} rules over every account in {full:.2f} s "
            f"({changed:,} tags set) — target ≤ 5 s",
            f"tag rules re-evaluated over every account (hourly run): {reruns[0][1]:.2f} s "
            f"({reruns[0][0]:,} tags changed by the tagCount rules), again "
            f"{reruns[1][1]:.2f} s ({reruns[1][0]:,} changed)",
            f"tag rules on an event (one account, all {len(RULES)} rules): median "
            f"{statistics.median(per_event):.1f} ms, p95 {_p95(per_event):.1f} ms — "
            "target ≤ 20 ms"]


def _p95(values: list[float]) -> float:
    return sorted(values)[max(0, int(len(values) * 0.95) - 1)]


async def ticket_page_figures(stores: Stores, client: httpx.AsyncClient) -> list[str]:
    await _tickets(stores, TICKETS, due_in="+ interval '8 hours'")
    first = await call(client, TICKET_PAGE, {"after": None})
    cursors = [None] + [edge["cursor"] for edge in first["tickets"]["edges"]]
    times = []
    for number in range(PAGE_REQUESTS):
        started = time.perf_counter()
        await call(client, TICKET_PAGE, {"after": cursors[number % len(cursors)]})
        times.append((time.perf_counter() - started) * 1000)
    return [f"ticket list page (20 of {TICKETS:,} tickets, with assignee and account): median "
            f"{statistics.median(times):.1f} ms, p95 {_p95(times):.1f} ms — target ≤ 50 ms"]


async def sla_burst_figures(stores: Stores) -> list[str]:
    await _sql(stores, "DELETE FROM tickets")
    await _tickets(stores, TIMERS, due_in="- interval '1 minute'")
    async with stores.read() as session:
        ids = [str(found) for found in await session.scalars(text("SELECT id FROM tickets"))]
    async with stores.uow(RequestMeta(actor="system:bench")) as uow:
        for ticket_id in ids:
            uow.defer("tickets:sla_check", {"ticketId": ticket_id, "kind": "resolve"})
    started = time.perf_counter()
    done = await scheduler.run_until_idle(JobRuntime(stores))
    spent = time.perf_counter() - started
    async with stores.read() as session:
        breached = await session.scalar(text("SELECT count(*) FROM tickets WHERE breached"))
    return [f"SLA burst: {done:,} due timers run in {spent:.1f} s ({done / spent:,.0f} jobs/s, "
            f"one worker), {breached:,} tickets breached and escalated"]


async def measure(stores: Stores, client: httpx.AsyncClient) -> list[str]:
    """The figures, over the accounts already in the ledger (`client` logged in as admin)."""
    progress("customer operations: tag rules, ticket page, SLA burst")
    lines = await tag_rule_figures(stores)
    lines += await ticket_page_figures(stores, client)
    async with scheduler.opened(str(stores.settings.database_url)):
        lines += await sla_burst_figures(stores)
    return lines


async def _standalone(config: BenchConfig, workdir: Path) -> list[str]:
    with stores_up(config, workdir) as urls:
        upgrade(urls.database)
        settings = app_settings(urls, workdir).model_copy(update={"worker_in_process": False})
        async with direct_stores(settings) as stores:
            progress(f"seeding {config.accounts:,} accounts")
            await _sql(stores, """
                INSERT INTO accounts (id, name, uscc, region, industry, lifecycle_stage,
                                      annual_revenue, tags, value_tier)
                SELECT gen_random_uuid(), '基准客户' || n, lpad(n::text, 18, '0'),
                       (ARRAY['华东','华北','华南','华中','西南','西北','东北'])[1 + n % 7],
                       '制造', (ARRAY['POTENTIAL','INTENT','CUSTOMER','LOYAL','CHURNED'])
                       [1 + n % 5], (n % 1000) * 1500000, ARRAY['军工资质'],
                       (ARRAY['A','B','C','D'])[1 + n % 4]
                FROM generate_series(1, :count) AS n""", count=config.accounts)
            await _sql(stores, "ANALYZE")
            async with serve(settings) as url, httpx.AsyncClient(base_url=url,
                                                                  timeout=60) as client:
                await log_in_admin(stores, client)
                return await measure(stores, client)


def main() -> int:
    config = BenchConfig.from_env()
    random.seed(config.seed)
    workdir = Path(tempfile.mkdtemp(prefix="crm-bench-ops-"))
    try:
        lines = asyncio.run(_standalone(config, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print("\n".join(lines))
    load = os.getloadavg()
    print(f"load average during the run's end: {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f} "
          f"({os.cpu_count()} cores)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


