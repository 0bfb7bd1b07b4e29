"""Why a scenario costs what it costs: EXPLAIN ANALYZE of the SQL its requests send (captured
from the app with the SQLAlchemy event), and the graph round trips it makes, timed directly."""

from __future__ import annotations

import asyncio
import json
import re
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg

from bench.counters import SqlCounter
from bench.runner import call
from bench.scenarios import Scenario
from bench.seed import conninfo
from services import groups
from services.stores import Stores

_SHOW_PLAN_MS = 5.0  # plans of statements at least this slow go to stderr in full
_PARAMETER = re.compile(r"%\(\w+\)s(?:::\w+)?")
_IN_LIST = re.compile(r"IN \(\?(?:, \?)*\)")
_CONDITION = re.compile(r"(\w+)\.(\w+) (ILIKE|IN|<=|>=|=|>|<)|\(\w+\.(\w+), \w+\.(\w+)\) ([<>])")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Cost:
    scenario: str
    what: str
    seen: int  # how often the sampled requests sent it
    times_ms: list[float]  # server execution times; empty for writes (EXPLAIN without ANALYZE)
    plan: str = ""

    @property
    def median_ms(self) -> float | None:
        return statistics.median(self.times_ms) if self.times_ms else None

    @property
    def max_ms(self) -> float | None:
        return max(self.times_ms) if self.times_ms else None


def _shape(statement: str) -> str:
    """The statement with parameters and IN-list lengths blanked out."""
    return _IN_LIST.sub("IN (…)", _PARAMETER.sub("?", statement))


def _label(statement: str) -> str:
    """E.g. `SQL count accounts: name ILIKE, region IN`."""
    statement = _SPACE.sub(" ", statement).strip()
    lowered = statement.lower()
    verb = lowered.split(" ", 1)[0]
    if verb == "with":  # a CTE: name it after the write it wraps, if any
        verb = next((word for word in ("insert", "update", "delete")
                     if re.search(rf"\b{word}\b", lowered)), "select")
    if verb in {"insert", "update", "delete"}:
        target = re.search(r"\b(?:into|update|from) (\w+)", lowered)
        return f"SQL {verb} {target.group(1) if target else '?'}"
    tables = [table for table in dict.fromkeys(re.findall(r"\bfrom (\w+)", lowered))
              if not table.startswith("anon_")]
    kind = "count" if "count(" in lowered else verb
    where = statement.split(" WHERE ", 1)[1] if " WHERE " in statement else ""
    conditions = []
    for match in _CONDITION.finditer(where):
        if match.group(2):
            conditions.append(f"{match.group(2)} {match.group(3)}")
        else:
            conditions.append(f"({match.group(4)}, {match.group(5)}) {match.group(6)}")
    extra = ", row_number() per account" if "row_number()" in lowered else ""
    found = ", ".join(dict.fromkeys(conditions)) + extra
    return f"SQL {kind} {'+'.join(tables)}" + (f": {found}" if found else "")


def _nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)


def _summary(plan: dict[str, Any]) -> str:
    """The scans of a JSON plan: what, through which index, rows kept and filtered out."""
    parts = []
    for node in _nodes(plan["Plan"]):
        if "Scan" not in node["Node Type"]:
            continue
        text = node["Node Type"] + (f" {node['Index Name']}" if "Index Name" in node else "")
        rows = int(node.get("Actual Rows", 0) * node.get("Actual Loops", 1))
        removed = int(node.get("Rows Removed by Filter", 0))
        parts.append(f"{text}: {rows} rows" + (f", {removed} filtered out" if removed else ""))
    return "; ".join(parts)


def _is_read(statement: str) -> bool:
    return statement.lstrip().upper().startswith("SELECT") and "FOR UPDATE" not in statement


def _explain(database_url: str, statement: str, parameters: Any) -> tuple[float, str, str]:
    """Execution time (ms; -1 for a write, which is planned but not run), a one-line summary
    and the full text plan of one statement."""
    analyze = _is_read(statement)
    as_json = "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " if analyze else "EXPLAIN (FORMAT JSON) "
    as_text = "EXPLAIN (ANALYZE, BUFFERS) " if analyze else "EXPLAIN "
    with psycopg.connect(conninfo(database_url)) as conn:
        row = conn.execute(as_json + statement, parameters).fetchone()
        found: Any = row[0] if row else "[{}]"
        plan: dict[str, Any] = (json.loads(found) if isinstance(found, str) else found)[0]
        text = "\n".join(line for (line,) in conn.execute(as_text + statement,
                                                           parameters).fetchall())
        conn.rollback()
    return float(plan.get("Execution Time", -1.0)), _summary(plan), text


async def sql_costs(client: httpx.AsyncClient, counter: SqlCounter, scenario: Scenario,
                    database_url: str, *, samples: int = 5) -> list[Cost]:
    """EXPLAIN ANALYZE every statement of `samples` requests, grouped by statement shape."""
    captured: dict[str, list[tuple[str, Any]]] = defaultdict(list)
    for number in range(samples):
        statements = counter.capture()
        try:
            await call(client, scenario.query, scenario.variables(number))
        finally:
            counter.stop_capture()
        for statement, parameters in statements:
            captured[_shape(statement)].append((statement, parameters))
    costs = []
    for runs in captured.values():
        explained = [await asyncio.to_thread(_explain, database_url, statement, parameters)
                     for statement, parameters in runs]
        slowest = max(explained)
        label = _label(runs[0][0])
        times = [ms for ms, _, _ in explained if ms >= 0]
        costs.append(Cost(scenario.key, label, len(runs), times, slowest[1] or "(write)"))
        if slowest[0] >= _SHOW_PLAN_MS:
            shown = _SPACE.sub(" ", runs[0][0])[:300]
            print(f"\n--- ({scenario.key}) {label}, slowest sample {slowest[0]:.1f} ms\n{shown}\n"
                  f"{slowest[2]}", file=sys.stderr)
    return costs


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


async def graph_costs(stores: Stores, scenario: str, ids: list[str]) -> list[Cost]:
    """The two Cypher round trips of a group tree, one account at a time, as the app sends
    them (services.groups → graph.groups), timed from the client side."""
    up: list[float] = []
    down: list[float] = []
    for account in ids:
        started = time.perf_counter()
        await groups.ancestor_edges(stores.graph, [account], stores.settings.max_group_depth)
        up.append(_ms(started))
        started = time.perf_counter()
        await groups.descendants_of(stores.graph, [account], stores.settings.max_group_depth)
        down.append(_ms(started))
    return [Cost(scenario, "Cypher ancestor_edges (timed directly)", len(up), up),
            Cost(scenario, "Cypher descendant_edges + ownership (timed directly)", len(down), down)]
