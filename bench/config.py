"""Benchmark parameters (environment overrides) and progress output."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass

TARGET_P95_MS = 50.0
GRAPH_NAME = "crm_bench"
DATABASE_NAME = "crm_bench"

_STARTED = time.perf_counter()


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


@dataclass(frozen=True)
class BenchConfig:
    accounts: int
    requests: int
    warmup: int
    seed: int
    database_url: str | None
    graph_url: str | None
    reset: bool
    scales: tuple[int, ...] = ()  # accounts of each run, in order (BENCH_SCALE)

    @classmethod
    def from_env(cls) -> BenchConfig:
        accounts = max(_int("BENCH_ACCOUNTS", 100_000), 100)
        return cls(
            accounts=accounts,
            requests=max(_int("BENCH_REQUESTS", 200), 1),
            warmup=max(_int("BENCH_WARMUP", 20), 0),
            seed=_int("BENCH_SEED", 2026),
            database_url=os.environ.get("BENCH_DATABASE_URL") or None,
            graph_url=os.environ.get("BENCH_GRAPH_URL") or None,
            reset=os.environ.get("BENCH_RESET", "") == "1",
            scales=_scales(os.environ.get("BENCH_SCALE", ""), accounts),
        )


def _scales(raw: str, accounts: int) -> tuple[int, ...]:
    """BENCH_SCALE (`make bench SCALE=…`): account counts, comma- or space-separated. A scale
    above BENCH_ACCOUNTS also runs BENCH_ACCOUNTS first, so the growth shows."""
    given = {max(int(part.replace("_", "")), 100) for part in raw.replace(",", " ").split()}
    if not given:
        return (accounts,)
    if len(given) == 1 and min(given) > accounts:
        given.add(accounts)
    return tuple(sorted(given))


def progress(message: str) -> None:
    """One line of progress on stderr, stamped with the seconds since start."""
    print(f"[{time.perf_counter() - _STARTED:7.1f}s] {message}", file=sys.stderr, flush=True)


def elapsed() -> float:
    return time.perf_counter() - _STARTED
