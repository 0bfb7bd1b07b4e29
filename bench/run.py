"""`python -m bench`: stores up, seed, rebuild the graph, serve the app, measure, report."""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench import report, scenarios
from bench.config import BenchConfig, elapsed, progress
from bench.counters import SqlCounter
from bench.dataset import Dataset, build
from bench.runner import Result, call, run
from bench.seed import SeedTimes, copy_rows, prepare, rebuild_graph
from bench.stores import Urls, app_settings, direct_stores, serve, stores_up
from relational.migrate import upgrade

PAGE_SIZES = (10, 50, 100)


@dataclass(frozen=True)
class Measured:
    main: list[Result]
    sweep: list[Result]


def timed_build(accounts: int, seed: int) -> tuple[Dataset, float]:
    started = time.perf_counter()
    data = build(accounts, seed)
    return data, time.perf_counter() - started


async def _gather_cursors(client: httpx.AsyncClient) -> list[str]:
    cursors: list[str] = []
    for variables in scenarios.cursor_queries():
        cursors.extend(scenarios.cursors_of(await call(client, scenarios.CURSORS, variables)))
    return cursors


async def _measure(config: BenchConfig, settings_dir: Path, urls: Urls, data: Dataset,
                   times: SeedTimes) -> Measured:
    settings = app_settings(urls, settings_dir)
    async with direct_stores(settings) as stores:
        await rebuild_graph(stores, times)
    counter = SqlCounter()
    counter.install()
    rng = random.Random(config.seed)
    count = config.requests + config.warmup
    try:
        async with serve(settings) as url, httpx.AsyncClient(base_url=url, timeout=60) as client:
            progress(f"app serving on {url}")
            cursors = await _gather_cursors(client)
            pages = {size: scenarios.page(rng, cursors, count, size) for size in PAGE_SIZES}
            plan = [scenarios.search(rng, count), scenarios.group_tree(rng, data.grouped, count),
                    pages[50], pages[10], pages[100]]
            results: list[Result] = []
            for scenario in plan:
                progress(f"scenario ({scenario.key}): {config.warmup} warm-up + "
                         f"{config.requests} requests")
                results.append(await run(client, counter, scenario, requests=config.requests,
                                         warmup=config.warmup))
    finally:
        counter.remove()
    sweep = sorted(results[2:], key=lambda result: int(result.scenario.key[1:]))
    return Measured(results[:3], sweep)


def _print(data: Dataset, times: SeedTimes, generate_s: float, measured: Measured) -> None:
    print()
    print(report.seeding(data.counts, times, generate_s))
    print()
    print(report.scenarios(measured.main))
    print()
    print(report.page_sizes(measured.sweep))
    print()
    print("SQL/req: statements sent; conn/req: pool checkouts (each adds a pre-ping and a "
          "reset round trip); Cypher/req: graph round trips. Sequential, concurrency 1.")


def _bench(config: BenchConfig, workdir: Path, pool: multiprocessing.pool.Pool) -> None:
    progress(f"generating {config.accounts:,} accounts in a worker process")
    pending = pool.apply_async(timed_build, (config.accounts, config.seed))
    with stores_up(config, workdir) as urls:
        progress("migrating")
        upgrade(urls.database)
        prepare(urls.database, reset=config.reset)
        data, generate_s = pending.get()
        times = SeedTimes()
        copy_rows(urls.database, data, times)
        measured = asyncio.run(_measure(config, workdir, urls, data, times))
    _print(data, times, generate_s, measured)


def main() -> int:
    config = BenchConfig.from_env()
    workdir = Path(tempfile.mkdtemp(prefix="crm-bench-"))
    # Forked before any thread or connection exists; terminated whatever happens.
    pool = multiprocessing.get_context("fork").Pool(1)
    try:
        _bench(config, workdir, pool)
    except KeyboardInterrupt:
        progress("interrupted")
        return 130
    finally:
        pool.terminate()
        pool.join()
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"total run time {elapsed():.0f} s")
    return 0
