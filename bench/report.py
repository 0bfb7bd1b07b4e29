"""Plain-text tables of the figures (stdout)."""

from __future__ import annotations

from collections.abc import Sequence

from bench.config import TARGET_P95_MS
from bench.runner import Result
from bench.seed import SeedTimes


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True))
        return "  ".join([first, *rest]).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


def _spread(values: list[int]) -> str:
    return f"{min(values)}-{max(values)}" if values else "-"


def seeding(counts: dict[str, int], times: SeedTimes, generate_s: float) -> str:
    rebuilt = times.rebuilt or {}
    rows = [
        ["dataset generated (worker process)", f"{generate_s:.1f}",
         ", ".join(f"{value:,} {key}" for key, value in counts.items())],
        ["COPY into PostgreSQL", f"{times.copy_s:.1f}", "accounts, contacts, account_edges"],
        ["VACUUM ANALYZE", f"{times.analyze_s:.1f}", ""],
        ["graph rebuild (graph_sync.rebuild)", f"{times.rebuild_s:.1f}",
         ", ".join(f"{value:,} {key}" for key, value in rebuilt.items())],
    ]
    return _table(["seeding step", "s", "rows"], rows)


def scenarios(results: Sequence[Result]) -> str:
    rows = []
    for result in results:
        p95 = result.percentile(95)
        verdict = "met" if p95 <= TARGET_P95_MS else "MISSED"
        rows.append([
            f"({result.scenario.key}) {result.scenario.title}",
            str(result.requests),
            f"{result.percentile(50):.1f}", f"{p95:.1f}", f"{max(result.latencies_ms):.1f}",
            f"{result.per_second:.1f}",
            f"{result.per_request(result.counts.sql):.2f}",
            f"{result.per_request(result.counts.checkouts):.2f}",
            f"{result.per_request(result.counts.cypher):.2f}",
            f"<= {TARGET_P95_MS:.0f} {verdict}",
            f"{result.scenario.observed} {_spread(result.observed)}",
        ])
    header = ["scenario", "n", "p50 ms", "p95 ms", "max ms", "req/s", "SQL/req", "conn/req",
              "Cypher/req", "p95 target", "answer size"]
    return _table(header, rows)


def page_sizes(results: Sequence[Result]) -> str:
    rows = [[
        result.scenario.key.removeprefix("c"),
        f"{result.per_request(result.counts.sql):.2f}",
        f"{result.per_request(result.counts.checkouts):.2f}",
        f"{result.per_request(result.counts.cypher):.2f}",
        f"{result.percentile(50):.1f}", f"{result.percentile(95):.1f}",
        _spread(result.observed),
    ] for result in results]
    header = ["page size (c)", "SQL/req", "conn/req", "Cypher/req", "p50 ms", "p95 ms",
              "contacts per page"]
    return _table(header, rows)
