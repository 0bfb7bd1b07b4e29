"""Bulk seeding: COPY straight into the ledger (bypassing the use cases, which would take an
hour for 100,000 accounts), then the graph rebuilt from it by the product's own rebuild."""

from __future__ import annotations

import time
from dataclasses import dataclass

import psycopg
from psycopg import sql
from sqlalchemy import make_url

from bench.config import progress
from bench.dataset import Dataset
from services.graph_sync import rebuild
from services.stores import Stores

_COPY = (
    ("accounts", ("id", "name", "uscc", "region", "industry", "lifecycle_stage", "tags",
                  "annual_revenue")),
    ("contacts", ("id", "account_id", "name", "title", "phone", "email")),
    ("account_edges", ("id", "kind", "source_id", "target_id", "share_pct")),
)
_CHUNK = 1 << 20


@dataclass
class SeedTimes:
    copy_s: float = 0.0
    analyze_s: float = 0.0
    rebuild_s: float = 0.0
    rebuilt: dict[str, int] | None = None


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


def copy_rows(database_url: str, data: Dataset, times: SeedTimes) -> None:
    started = time.perf_counter()
    blocks = (data.accounts, data.contacts, data.edges)
    with psycopg.connect(conninfo(database_url)) as conn:
        for (table, columns), block in zip(_COPY, blocks, strict=True):
            progress(f"COPY {table} ({len(block) / 1e6:.0f} MB)")
            statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
                sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns)))
            with conn.cursor() as cursor, cursor.copy(statement) as copy:
                for offset in range(0, len(block), _CHUNK):
                    # Chunks may split a UTF-8 character; COPY only sees the joined stream.
                    copy.write(block[offset:offset + _CHUNK])
        conn.commit()
    times.copy_s = time.perf_counter() - started
    started = time.perf_counter()
    progress("VACUUM ANALYZE")
    with psycopg.connect(conninfo(database_url), autocommit=True) as conn:
        for table, _ in _COPY:
            conn.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(table)))
    times.analyze_s = time.perf_counter() - started


async def rebuild_graph(stores: Stores, times: SeedTimes) -> None:
    progress("rebuilding the graph from the ledger (services.graph_sync.rebuild)")
    started = time.perf_counter()
    times.rebuilt = await rebuild(stores)
    times.rebuild_s = time.perf_counter() - started
