"""Bulk seeding: rows generated in worker processes while the stores start, COPYed straight into
the ledger (the use cases would take an hour for 100,000 accounts), then the graph rebuilt from
it by the product's own `graph_sync.rebuild`."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing.pool
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from psycopg import sql
from sqlalchemy import make_url

from bench import people
from bench.config import BenchConfig, progress
from bench.dataset import Companies, account_ids, companies
from services.graph_sync import rebuild
from services.stores import Stores

T = TypeVar("T")
_ACCOUNT_COLUMNS = ("id", "name", "uscc", "region", "industry", "lifecycle_stage", "tags",
                    "annual_revenue")
_EDGE_COLUMNS = ("id", "kind", "source_id", "target_id", "share_pct")
_SLICES = 4  # contact slices: work for two workers while the companies are generated
_CHUNK = 1 << 20


@dataclass
class Seeded:
    counts: dict[str, int] = field(default_factory=dict)
    grouped: list[str] = field(default_factory=list)
    generate_s: float = 0.0
    copy_s: float = 0.0
    analyze_s: float = 0.0
    rebuild_s: float = 0.0
    rebuilt: dict[str, int] = field(default_factory=dict)


def _finished(work: Callable[..., T], *args: Any) -> tuple[T, float]:
    """Run `work` in a worker; also say when it finished (wall clock, comparable across
    processes)."""
    return work(*args), time.time()


class Generation:
    """Rows being generated in `pool`: companies in one task, contacts in slices."""

    def __init__(self, pool: multiprocessing.pool.Pool, config: BenchConfig,
                 workdir: Path) -> None:
        people.cipher_for(workdir)  # create the key file before the workers read it
        self.started = time.time()
        ids = account_ids(config.accounts, config.seed)
        self._companies = pool.apply_async(_finished, (companies, ids, config.seed))
        step = -(-len(ids) // _SLICES)
        self._contacts = [
            pool.apply_async(_finished, (people.contacts, workdir, ids[start:start + step],
                                         start, config.seed))
            for start in range(0, len(ids), step)]

    def companies(self) -> tuple[Companies, float]:
        return self._companies.get()

    def contacts(self) -> list[tuple[tuple[bytes, int], float]]:
        return [pending.get() for pending in self._contacts]


def conninfo(database_url: str) -> str:
    """A libpq connection string for psycopg from the app's SQLAlchemy URL."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(
        hide_password=False)


def prepare(database_url: str, *, reset: bool) -> None:
    """Make sure the ledger is empty: refuse to touch a populated one unless told to."""
    with psycopg.connect(conninfo(database_url), autocommit=True) as conn:
        row = conn.execute("SELECT EXISTS (SELECT 1 FROM accounts)").fetchone()
        if row is None or not row[0]:
            return
        if not reset:
            raise SystemExit("the benchmark database already holds accounts; "
                             "set BENCH_RESET=1 to truncate accounts, contacts and edges")
        progress("truncating accounts, contacts, account_edges (BENCH_RESET=1)")
        conn.execute("TRUNCATE accounts, contacts, account_edges CASCADE")


def _copy(conn: psycopg.Connection[Any], table: str, columns: Sequence[str],
          block: bytes) -> float:
    """COPY one block; its duration in seconds."""
    started = time.perf_counter()
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns)))
    with conn.cursor() as cursor, cursor.copy(statement) as copy:
        for offset in range(0, len(block), _CHUNK):
            # Chunks may split a UTF-8 character; COPY only sees the joined stream.
            copy.write(block[offset:offset + _CHUNK])
    return time.perf_counter() - started


def copy_rows(database_url: str, generation: Generation, seeded: Seeded) -> None:
    """COPY each part as soon as its worker delivers it; one transaction."""
    with psycopg.connect(conninfo(database_url)) as conn:
        made, done = generation.companies()
        progress(f"COPY accounts ({made.counts['accounts']:,})")
        seeded.copy_s = _copy(conn, "accounts", _ACCOUNT_COLUMNS, made.accounts)
        seeded.counts.update(made.counts)
        seeded.grouped = made.grouped
        contacts = 0
        for (block, count), finished in generation.contacts():
            done = max(done, finished)
            progress(f"COPY contacts (+{count:,}, encrypted fields sealed by the workers)")
            seeded.copy_s += _copy(conn, "contacts", people.COLUMNS, block)
            contacts += count
        seeded.copy_s += _copy(conn, "account_edges", _EDGE_COLUMNS, made.edges)
        started = time.perf_counter()
        conn.commit()
        seeded.copy_s += time.perf_counter() - started
    seeded.counts["contacts"] = contacts
    seeded.generate_s = done - generation.started
    started = time.perf_counter()
    progress("VACUUM ANALYZE")
    with psycopg.connect(conninfo(database_url), autocommit=True) as conn:
        for table in ("accounts", "contacts", "account_edges"):
            conn.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(table)))
        # Write the loaded pages out now, not during the measurements (needs a superuser).
        with contextlib.suppress(psycopg.errors.InsufficientPrivilege):
            conn.execute("CHECKPOINT")
    seeded.analyze_s = time.perf_counter() - started


async def rebuild_graph(stores: Stores, seeded: Seeded) -> None:
    progress("rebuilding the graph from the ledger (services.graph_sync.rebuild)")
    started = time.perf_counter()
    seeded.rebuilt = await rebuild(stores.ledger, stores.graph)
    seeded.rebuild_s = time.perf_counter() - started
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        # A Ctrl-C that arrived while the rebuild was writing to FalkorDB gets lost below it
        # (the rebuild runs to its end); honour it now instead of measuring.
        raise asyncio.CancelledError
