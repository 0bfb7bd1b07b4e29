"""The recovery drill at scale (`make drill`, or `BENCH_DRILL=1 make bench`): 100,000 accounts
(BENCH_ACCOUNTS) and their contacts COPYed into an embedded PostgreSQL that archives its WAL,
then `drill.run`: writes one transaction at a time while `crm backup` runs, a point in time
chosen between later writes, `crm restore --to` it into a scratch DATA_DIR (graph rebuilt
and verified, audit chain checked), and which acknowledged writes came back.

Prints backup time, restore time, graph rebuild time (together the RTO) and the data lost at
`--to` (the RPO figures); then the same backup restored into the empty database of a second
server standing in for an external PostgreSQL (`DATABASE_URL`: pg_restore of the dump), with
its restore and rebuild times. Times are reported, never asserted."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import shutil
import signal
import tempfile
from dataclasses import replace
from pathlib import Path

import drill
from bench.config import BenchConfig, progress
from bench.seed import Generation, Seeded, copy_rows
from bench.stores import free_port
from composition import open_stores
from graph.embedded import EmbeddedFalkorDB
from relational.embedded import EmbeddedPostgres, create_database
from relational.migrate import upgrade
from settings import Settings

PASSPHRASE = "bench drill passphrase"  # noqa: S105 - seals the scratch keys of a bench run


def _seed(config: BenchConfig, workdir: Path, url: str) -> Seeded:
    pool = multiprocessing.get_context("fork").Pool(
        2, initializer=signal.signal, initargs=(signal.SIGINT, signal.SIG_IGN))
    try:
        progress(f"generating and COPYing {config.accounts:,} accounts and their contacts")
        seeded = Seeded()
        copy_rows(url, Generation(pool, config, workdir), seeded)
        return seeded
    finally:
        pool.terminate()
        pool.join()


async def _drill(settings: Settings, workdir: Path, external_url: str) -> drill.Figures:
    async with open_stores(settings, pool_size=3, jobs=False) as runtime:
        await runtime.stores.graph.ensure_schema()
        progress("drill: writes under load, crm backup, crm restore --to into a DATA_DIR, "
                 "then crm restore into an external DATABASE_URL")
        return await drill.run(runtime.stores, workdir / "drill",
                               graph_url=settings.graph_url or "", passphrase=PASSPHRASE,
                               writes_before=50, writes_between=50, external_url=external_url)


def run(config: BenchConfig) -> drill.Figures:
    workdir = Path(tempfile.mkdtemp(prefix="crm-drill-"))
    try:
        with EmbeddedPostgres(workdir / "data" / "pg", port=free_port(),
                              wal_archive=workdir / "wal-archive",
                              archive_timeout=300) as postgres, \
                EmbeddedFalkorDB(workdir / "graph") as falkor, \
                EmbeddedPostgres(workdir / "external" / "pg", port=free_port()) as external:
            url = postgres.url or ""
            upgrade(url)
            seeded = _seed(config, workdir, url)
            progress(f"seeded {seeded.counts}")
            settings = Settings(  # type: ignore[call-arg]
                database_url=url, graph_url=falkor.start(), graph_name="drill_source",
                data_dir=workdir, wal_archive=workdir / "wal-archive",
                archive_timeout_seconds=300, seed_demo=False, log_level="WARNING",
                _env_file=None)
            # A second server stands in for an external PostgreSQL (DATABASE_URL).
            target = create_database(external.url or "", "crm_restored")
            figures = asyncio.run(_drill(settings, workdir, target))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"\n=== recovery drill, {config.accounts:,} accounts ===")
    print("\n".join(figures.lines()))
    return figures


def main() -> int:
    config = BenchConfig.from_env()
    # The drill restores with the keys sealed in its backup, not with keys of this shell.
    for name in ("FIELD_KEYS", "BLIND_INDEX_KEY", "FIELD_KEY_CURRENT", "DATA_DIR"):
        os.environ.pop(name, None)
    figures = run(replace(config, reset=True))
    return 0 if figures.lost_nothing else 1


if __name__ == "__main__":
    raise SystemExit(main())
