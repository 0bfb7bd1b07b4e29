"""`python -m bench`: stores up, seed, rebuild the graph, serve the app, measure, report."""

from __future__ import annotations

import asyncio
import multiprocessing
import multiprocessing.pool
import os
import random
import shutil
import signal
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import httpx

from bench import fixed, operations, report, scenarios, security, throughput
from bench.config import BenchConfig, elapsed, progress
from bench.counters import SqlCounter
from bench.cpu import CpuMeter
from bench.diagnose import Cost, graph_costs, sql_costs
from bench.identity import log_in_admin, log_in_finance
from bench.runner import Result, call, run
from bench.seed import Generation, Seeded, copy_rows, prepare, rebuild_graph
from bench.stores import Urls, app_settings, direct_stores, serve, stores_up, wait_until_quiet
from relational.migrate import upgrade
from services.stores import Stores

PAGE_SIZES = (10, 50, 100)


@dataclass(frozen=True)
class Measured:
    main: list[Result]
    sweep: list[Result]
    guarded: list[Result]  # (d1), (d2)
    probe: security.Probe
    costs: list[Cost]
    comparison: throughput.Comparison
    fixed: list[fixed.Fixed]


async def _cursors(client: httpx.AsyncClient) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for variables, region in scenarios.cursor_queries():
        data = await call(client, scenarios.CURSORS, variables)
        found.extend(scenarios.cursors_of(data, region))
    return found


async def _scenarios(config: BenchConfig, client: httpx.AsyncClient, counter: SqlCounter,
                     meter: CpuMeter, grouped: list[str],
                     cursors: list[tuple[str, str]]) -> list[Result]:
    rng = random.Random(config.seed)
    count = config.requests + config.warmup
    pages = {size: scenarios.page(rng, cursors, count, size) for size in PAGE_SIZES}
    plan = [scenarios.search(rng, count), scenarios.group_tree(rng, grouped, count),
            pages[50], pages[10], pages[100]]
    results = []
    for scenario in plan:
        progress(f"scenario ({scenario.key}): {config.warmup} warm-up + {config.requests} "
                 f"requests, one at a time")
        results.append(await run(client, counter, meter, scenario, requests=config.requests,
                                 warmup=config.warmup))
    return results


@dataclass(frozen=True)
class _Security:
    results: list[Result]
    probe: security.Probe
    costs: list[Cost]


async def _security(config: BenchConfig, stores: Stores, admin: httpx.AsyncClient,
                    counter: SqlCounter, meter: CpuMeter, cursors: list[tuple[str, str]],
                    database: str) -> _Security:
    """(d1) as a logged-in finance user on its own connection, (d2) as the admin, the same
    pages in the same order; then the SQL of both explained."""
    count = config.requests + config.warmup
    pages = await security.windows(admin, random.Random(config.seed + 1),
                                   [cursor for cursor, _ in cursors], count)
    protected, plain = security.scenarios(pages)
    async with httpx.AsyncClient(base_url=str(admin.base_url), timeout=60) as finance:
        user = await log_in_finance(stores, finance)
        progress(f"security scenario: (d1) as {user} (role finance, clearance INTERNAL), "
                 f"(d2) as the admin; {len({page.after for page in pages})} distinct pages "
                 f"of {security.CONTACTS_PER_PAGE} contacts")
        probe = await security.probe(finance, admin, protected, plain)
        results = []
        for client, scenario in ((finance, protected), (admin, plain)):
            progress(f"scenario ({scenario.key}): {config.warmup} warm-up + {config.requests} "
                     f"requests, one at a time")
            results.append(await run(client, counter, meter, scenario,
                                     requests=config.requests, warmup=config.warmup))
        costs = await sql_costs(finance, counter, protected, database)
    costs += await sql_costs(admin, counter, plain, database)
    return _Security(results, probe, costs)


async def _measure(config: BenchConfig, workdir: Path, urls: Urls, seeded: Seeded) -> Measured:
    settings = app_settings(urls, workdir)
    counter = SqlCounter()
    async with direct_stores(settings) as stores:
        await rebuild_graph(stores, seeded)
        await wait_until_quiet(urls.graph)
        counter.install()
        try:
            with CpuMeter(urls.postgres_dir, urls.graph_dir) as meter:
                async with serve(settings) as url, httpx.AsyncClient(base_url=url,
                                                                      timeout=60) as client:
                    user = await log_in_admin(stores, client)
                    progress(f"app serving on {url}; requests as {user} (role admin)")
                    cursors = await _cursors(client)
                    results = await _scenarios(config, client, counter, meter, seeded.grouped,
                                               cursors)
                    guarded = await _security(config, stores, client, counter, meter, cursors,
                                              urls.database)
                    pair = throughput.scenarios(random.Random(config.seed + 2), seeded.grouped,
                                                config.requests + config.warmup)
                    progress(f"scenario (e): {pair[0].title} / {pair[1].title}, one at a time, "
                             f"then {throughput.CONCURRENCY} in flight")
                    comparison = await throughput.compare(
                        settings, client, counter, pair, requests=config.requests,
                        warmup=config.warmup)
                    progress("fixed costs: authentication, rate limit, parsing, validation, "
                             "field policy, timed directly")
                    bearer = client.headers["Authorization"].removeprefix("Bearer ")
                    priced = [results[0].scenario, results[2].scenario, pair[0]]
                    fixed_costs = await fixed.fixed_costs(
                        stores, counter, bearer,
                        [(one.key, one.query, one.variables(0)) for one in priced])
                    progress("diagnostics: EXPLAIN ANALYZE of the captured SQL, Cypher timings")
                    costs: list[Cost] = []
                    for result in results[:3]:
                        costs += await sql_costs(client, counter, result.scenario, urls.database)
                    sample = random.Random(config.seed).sample(seeded.grouped, 20)
                    costs += await graph_costs(stores, "b", sample)
                    print("\n".join(await operations.measure(stores, client)), flush=True)
        finally:
            counter.remove()
    sweep = sorted(results[2:], key=lambda result: int(result.scenario.key[1:]))
    return Measured(results[:3], sweep, guarded.results, guarded.probe, costs + guarded.costs,
                    comparison, fixed_costs)


def _print(config: BenchConfig, seeded: Seeded, measured: Measured) -> None:
    everything = measured.main + [result for result in measured.sweep
                                  if result not in measured.main] + measured.guarded
    print(f"\n=== {config.accounts:,} accounts ===")
    for table in (report.seeding(seeded), report.scenarios(measured.main),
                  report.page_sizes(measured.sweep),
                  report.security(measured.guarded, measured.probe),
                  report.throughput(measured.comparison), report.fixed(measured.fixed),
                  report.cpu(everything),
                  report.diagnostics(measured.costs)):
        print()
        print(table)
    print()
    print("SQL/req: statements sent; conn/req: pool checkouts, each adding three round trips\n"
          "(pre-ping, BEGIN, ROLLBACK or COMMIT) to its statements; Cypher/req: graph round\n"
          "trips. Requests one at a time as a logged-in admin ((d1): a logged-in finance user);\n"
          "client and app share this process, so app CPU includes the HTTP client. 'other load'\n"
          "is CPU used outside the bench and its stores: when it is high, latencies are\n"
          "inflated by a busy machine.")


def _workers() -> multiprocessing.pool.Pool:
    """Two row generators, forked before any thread or connection exists. They ignore Ctrl-C:
    the main process terminates them (a worker killed by SIGINT can die holding the pool's
    queue lock, and terminating the pool would then hang)."""
    return multiprocessing.get_context("fork").Pool(
        2, initializer=signal.signal, initargs=(signal.SIGINT, signal.SIG_IGN))


def _stop(pool: multiprocessing.pool.Pool) -> None:
    pool.terminate()
    pool.join()


def _bench(config: BenchConfig, workdir: Path) -> Measured:
    pool = _workers()
    try:
        progress(f"generating {config.accounts:,} accounts and their contacts in workers")
        generation = Generation(pool, config, workdir)
        seeded = Seeded()
        with stores_up(config, workdir) as urls:
            progress("migrating")
            upgrade(urls.database)
            prepare(urls.database, reset=config.reset)
            copy_rows(urls.database, generation, seeded)
            del generation  # its results hold the COPY blocks (hundreds of MB)
            _stop(pool)
            measured = asyncio.run(_measure(config, workdir, urls, seeded))
    finally:
        _stop(pool)
    _print(config, seeded, measured)
    return measured


def main() -> int:
    """One run per scale (fresh stores each); with several scales, their growth at the end."""
    base = BenchConfig.from_env()
    runs: list[tuple[int, list[Result]]] = []
    for accounts in base.scales:
        config = replace(base, accounts=accounts)
        workdir = Path(tempfile.mkdtemp(prefix="crm-bench-"))
        try:
            progress(f"=== scale: {accounts:,} accounts ===")
            measured = _bench(config, workdir)
        except KeyboardInterrupt:
            progress("interrupted")
            return 130
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        runs.append((accounts, measured.main + measured.comparison.sequential))
    if len(runs) > 1:
        print()
        print(report.growth(runs))
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"\ntotal run time {elapsed():.0f} s; load average now {load} (2 cores)")
    return 0
