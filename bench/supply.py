"""Supply bench (`python -m bench.supply`, and part of `make bench`): `exposure` to tier 5 on
a supply web of 100,000 accounts (target p95 ≤ 200 ms), and the group tree of 10,000 companies
15 levels deep with its revenue roll-up (`groupTree` + `groupRevenue`, target ≤ 1 s).

Rows are COPYed into the ledger (accounts, account_edges, relationships), the graph is rebuilt
from it by `services.graph_sync.rebuild`, and the app is served on a loopback port; requests
go over HTTP one at a time as a logged-in admin, like the other scenarios. Sizes:
BENCH_SUPPLY_ACCOUNTS (default 100000), BENCH_REQUESTS / BENCH_WARMUP as elsewhere.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import psycopg

from bench.config import BenchConfig, progress
from bench.counters import SqlCounter
from bench.cpu import CpuMeter
from bench.dataset import account_ids, companies, copy_text
from bench.identity import log_in_admin
from bench.runner import Result, run
from bench.scenarios import Data, Scenario
from bench.seed import _copy, conninfo
from bench.stores import app_settings, direct_stores, serve, stores_up, wait_until_quiet
from bench.supply_data import LAYERS, deep_group, supply_web
from relational.migrate import upgrade
from resolvers.ids import to_global_id
from services.graph_sync import rebuild

GROUP_COMPANIES, GROUP_LEVELS = 10_000, 15
EXPOSURE_TARGET_MS, TREE_TARGET_MS = 200.0, 1000.0
_TREE_REQUESTS, _TREE_WARMUP = 20, 2
_RELATIONSHIP_COLUMNS = ("id", "kind", "from_id", "to_id", "criticality", "share",
                         "products", "valid_from", "manual")
_VALID_FROM = "2024-01-01"

EXPOSURE = """
query Exposure($id: ID!) {
  exposure(accountId: $id, maxTier: 5) {
    tier score account { id ... on Account { name } } path { id }
  }
}"""
TREE = """
query Tree($id: ID!) {
  account(id: $id) {
    groupRevenue
    groupTree(depth: 15) {
      descendants { depth effectiveOwnership account { id ... on Account { name } } }
    }
  }
}"""


@dataclass(frozen=True)
class Seeding:
    accounts: int
    supplies: int
    ownerships: int
    sources: list[str]  # tier-0 suppliers: five tiers of customers above them
    holding: str
    copy_s: float
    rebuild_s: float
    rebuilt: dict[str, int]


def _pg_array(values: tuple[str, ...]) -> str:
    return "{" + ",".join(f'"{value}"' for value in values) + "}"


def _seed(database_url: str, config: BenchConfig) -> Seeding:
    ids = account_ids(config.accounts + GROUP_COMPANIES, config.seed)
    web_ids, group_ids = ids[:config.accounts], ids[config.accounts:]
    progress(f"generating {config.accounts:,} accounts in a {LAYERS}-layer supply web and a "
             f"group of {GROUP_COMPANIES:,} companies {GROUP_LEVELS} levels deep")
    made = companies(web_ids, config.seed)
    group = companies(group_ids, config.seed + 1)
    web = supply_web(web_ids, config.seed)
    tree = deep_group(group_ids, GROUP_LEVELS, config.seed)
    supplies = copy_text((edge.id, "SUPPLIES", edge.supplier_id, edge.buyer_id,
                          edge.criticality, str(edge.share_pct), _pg_array(edge.products),
                          _VALID_FROM, "t") for edge in web.edges)
    owns = copy_text((f"{index:08x}-0000-4000-8000-{index:012x}", "OWNS", edge.parent_id,
                      edge.child_id, str(edge.share_pct)) for index, edge in enumerate(tree))
    started = time.perf_counter()
    progress(f"COPY {len(ids):,} accounts, {len(web.edges):,} SUPPLIES relationships, "
             f"{made.counts['ownerships'] + len(tree):,} ownerships")
    with psycopg.connect(conninfo(database_url)) as conn:
        for block in (made.accounts, group.accounts):
            _copy(conn, "accounts", ("id", "name", "uscc", "region", "industry",
                                     "lifecycle_stage", "tags", "annual_revenue"), block)
        for block in (made.edges, owns):
            _copy(conn, "account_edges", ("id", "kind", "source_id", "target_id", "share_pct"),
                  block)
        _copy(conn, "relationships", _RELATIONSHIP_COLUMNS, supplies)
        conn.commit()
    with psycopg.connect(conninfo(database_url), autocommit=True) as conn:
        for table in ("accounts", "account_edges", "relationships"):
            conn.execute(f"VACUUM (ANALYZE) {table}")
    return Seeding(len(ids), len(web.edges), made.counts["ownerships"] + len(tree),
                   web.layers[0], group_ids[0], time.perf_counter() - started, 0.0, {})


def _exposure(rng: random.Random, sources: list[str], count: int) -> Scenario:
    picked = [to_global_id("Account", source) for source in rng.sample(sources, count)]
    return Scenario("s1", "exposure(accountId, maxTier 5) from a tier-0 supplier", EXPOSURE,
                    lambda n: {"id": picked[n % count]},
                    lambda data: len(data["exposure"]), "exposed accounts")


def _tree_size(data: Data) -> int:
    return len(data["account"]["groupTree"]["descendants"])


def _tree(holding: str) -> Scenario:
    variables = {"id": to_global_id("Account", holding)}
    return Scenario("s2", f"groupTree(depth 15) + groupRevenue of a {GROUP_COMPANIES:,}-company "
                          "group", TREE, lambda n: variables, _tree_size, "descendants")


async def _measure(config: BenchConfig, workdir: Path, urls: object,
                   seeding: Seeding) -> tuple[Seeding, list[Result]]:
    settings = app_settings(urls, workdir)  # type: ignore[arg-type]
    counter = SqlCounter()
    async with direct_stores(settings) as stores:
        progress("rebuilding the graph from the ledger (services.graph_sync.rebuild)")
        started = time.perf_counter()
        rebuilt = await rebuild(stores.ledger, stores.graph)
        seeding = replace(seeding, rebuild_s=time.perf_counter() - started, rebuilt=rebuilt)
        await wait_until_quiet(settings.graph_url or "")
        counter.install()
        try:
            with CpuMeter(None, None) as meter:
                async with serve(settings) as url, httpx.AsyncClient(base_url=url,
                                                                      timeout=60) as client:
                    await log_in_admin(stores, client)
                    rng = random.Random(config.seed)
                    count = config.requests + config.warmup
                    results = [await run(client, counter, meter,
                                         _exposure(rng, seeding.sources, count),
                                         requests=config.requests, warmup=config.warmup),
                               await run(client, counter, meter, _tree(seeding.holding),
                                         requests=_TREE_REQUESTS, warmup=_TREE_WARMUP)]
        finally:
            counter.remove()
    return seeding, results


def _print(seeding: Seeding, results: list[Result]) -> None:
    print(f"\n=== supply web: {seeding.accounts:,} accounts, {seeding.supplies:,} SUPPLIES, "
          f"{seeding.ownerships:,} ownerships ===")
    print(f"COPY {seeding.copy_s:.1f} s; graph rebuild {seeding.rebuild_s:.1f} s "
          f"({', '.join(f'{n:,} {kind}' for kind, n in seeding.rebuilt.items())})")
    header = f"{'scenario':<62} {'req':>4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} " \
             f"{'target':>8} {'SQL/req':>7} {'Cypher/req':>10} {'size':>12}"
    print(header)
    print("-" * len(header))
    for result, target in zip(results, (EXPOSURE_TARGET_MS, TREE_TARGET_MS), strict=True):
        p95 = result.percentile(95)
        verdict = f"≤{target:.0f}" + (" met" if p95 <= target else " MISSED")
        sizes = f"{min(result.observed)}-{max(result.observed)}"
        print(f"({result.scenario.key}) {result.scenario.title:<57} {result.requests:>4} "
              f"{result.percentile(50):>8.1f} {p95:>8.1f} {max(result.latencies_ms):>8.1f} "
              f"{verdict:>8} {result.per_request(result.counts.sql):>7.1f} "
              f"{result.per_request(result.counts.cypher):>10.1f} {sizes:>12}")
    print(f"size: {results[0].scenario.observed} / {results[1].scenario.observed}")


def run_supply(base: BenchConfig) -> None:
    """Fresh stores of its own, seeded, measured, printed."""
    accounts = int(os.environ.get("BENCH_SUPPLY_ACCOUNTS", "") or 100_000)
    config = replace(base, accounts=accounts)
    workdir = Path(tempfile.mkdtemp(prefix="crm-bench-supply-"))
    try:
        with stores_up(config, workdir) as urls:
            progress("migrating")
            upgrade(urls.database)
            seeding = _seed(urls.database, config)
            seeding, results = asyncio.run(_measure(config, workdir, urls, seeding))
        _print(seeding, results)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    run_supply(BenchConfig.from_env())
