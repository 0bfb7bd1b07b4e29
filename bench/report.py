"""Plain-text tables of the figures (stdout)."""

from __future__ import annotations

from collections.abc import Sequence

from bench.config import TARGET_P95_MS
from bench.diagnose import Cost
from bench.fixed import Fixed
from bench.runner import Result
from bench.security import PROTECTED_READS, TARGET_RATIO, Probe
from bench.seed import Seeded
from bench.throughput import CONCURRENCY, TARGET_SHARE, Comparison


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], align: str = "") -> str:
    """`align`: l or r per column; the first column is left-aligned, the others right."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    align = (align or "l").ljust(len(header), "r")

    def line(cells: Sequence[str]) -> str:
        return "  ".join(cell.ljust(width) if how == "l" else cell.rjust(width)
                         for cell, width, how in zip(cells, widths, align, strict=True)).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


def _spread(values: list[int]) -> str:
    return f"{min(values)}-{max(values)}" if values else "-"


def _rows(counts: dict[str, int], *keys: str) -> str:
    return ", ".join(f"{counts[key]:,} {key}" for key in keys if key in counts)


def seeding(seeded: Seeded) -> str:
    counts = seeded.counts
    rows = [
        ["rows generated (2 worker processes, during store start-up)", f"{seeded.generate_s:.1f}",
         _rows(counts, "accounts", "contacts", "ownerships", "groups")],
        ["COPY into PostgreSQL (one transaction)", f"{seeded.copy_s:.1f}",
         "accounts, contacts (phone/e-mail/ID number sealed), account_edges"],
        ["VACUUM ANALYZE", f"{seeded.analyze_s:.1f}", ""],
        ["graph rebuild (services.graph_sync.rebuild)", f"{seeded.rebuild_s:.1f}",
         _rows(seeded.rebuilt, *seeded.rebuilt)],
    ]
    return _table(["seeding step", "s", "rows"], rows, "lrl")


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


def _ratio(first: float, second: float) -> str:
    return f"{first / second:.2f}x" if second else "-"


def security(results: Sequence[Result], probe: Probe) -> str:
    """(d1) against (d2): latencies, round trips, and their ratios next to the target."""
    protected, plain = results
    rows = [[
        f"({result.scenario.key}) {result.scenario.title}", str(result.requests),
        f"{result.percentile(50):.1f}", f"{result.percentile(95):.1f}",
        f"{max(result.latencies_ms):.1f}", f"{result.per_second:.1f}",
        f"{result.per_request(result.counts.sql):.2f}",
        f"{result.per_request(result.counts.checkouts):.2f}",
        f"{result.per_request(result.counts.cypher):.2f}", "",
        f"{result.scenario.observed} {_spread(result.observed)}",
    ] for result in results]
    ratio = protected.percentile(95) / plain.percentile(95)
    rows.append([
        "(d1) / (d2)", "", _ratio(protected.percentile(50), plain.percentile(50)),
        f"{ratio:.2f}x", _ratio(max(protected.latencies_ms), max(plain.latencies_ms)),
        _ratio(protected.per_second, plain.per_second), "", "", "",
        f"p95 <= {TARGET_RATIO}x {'met' if ratio <= TARGET_RATIO else 'MISSED'}", ""])
    header = ["scenario (d): field security", "n", "p50 ms", "p95 ms", "max ms", "req/s",
              "SQL/req", "conn/req", "Cypher/req", "ratio target", "answer size"]
    contacts, admin = probe.contacts
    check = (f"page check (request 0): finance got {contacts} contacts, admin {admin}; "
             f"{probe.values} non-null protected values ({PROTECTED_READS} selections per "
             f"contact), {probe.masked} masked"
             + ("" if probe.sound else "  <-- NOT THE MEASURED PATH, figures misleading"))
    return _table(header, rows) + "\n" + check


def cpu(results: Sequence[Result]) -> str:
    rows = [[
        f"({result.scenario.key})",
        f"{result.percentile(50):.1f}",
        f"{result.ms_per_request(result.cpu.app):.1f}",
        f"{result.ms_per_request(result.cpu.gc):.1f}",
        str(result.cpu.full_gcs),
        f"{result.ms_per_request(result.cpu.postgres):.1f}",
        f"{result.ms_per_request(result.cpu.graph):.1f}",
        f"{result.ms_per_request(result.cpu.other):.1f}",
        f"{result.cpu.objects / 1000:.0f}k",
    ] for result in results]
    header = ["scenario", "p50 ms", "app CPU ms/req", "of which GC", "full GCs",
              "Postgres CPU ms/req", "FalkorDB CPU ms/req", "other load CPU ms/req",
              "GC-tracked objects after"]
    return _table(header, rows)


def diagnostics(costs: Sequence[Cost]) -> str:
    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    rows = [[f"({cost.scenario})", cost.what, str(cost.seen), ms(cost.median_ms),
             ms(cost.max_ms), cost.plan] for cost in costs]
    header = ["scenario", "round trip", "sent", "median ms", "max ms", "plan (slowest sample)"]
    return _table(header, rows, "llrrrl")


def throughput(comparison: Comparison) -> str:
    """(e1) against (e2): requests/second one at a time and with several in flight."""
    rows = [[
        f"({result.scenario.key}) {result.scenario.title}", str(result.requests),
        f"{result.percentile(50):.2f}", f"{result.percentile(95):.2f}",
        f"{result.per_second:.0f}", f"{rate:.0f}",
        f"{result.per_request(result.counts.sql):.2f}",
        f"{result.per_request(result.counts.checkouts):.2f}",
        f"{result.scenario.observed} {_spread(result.observed)}",
    ] for result, rate in zip(comparison.sequential, comparison.concurrent, strict=True)]
    sequential, concurrent = comparison.shares
    target = f">= {TARGET_SHARE:.0%}"
    rows.append(["(e1) / (e2)", "", "", "", f"{sequential:.0%}", f"{concurrent:.0%}", "", "",
                 f"{target} {'met' if sequential >= TARGET_SHARE else 'MISSED'} "
                 f"(one at a time)"])
    header = ["scenario (e): account(id) throughput", "n", "p50 ms", "p95 ms", "req/s",
              f"req/s, {CONCURRENCY} in flight", "SQL/req", "conn/req", "answer size"]
    return _table(header, rows)


def growth(runs: Sequence[tuple[int, Sequence[Result]]]) -> str:
    """p50/p95 of each scenario at each scale, and the growth from the first scale to the
    last."""
    scales = [accounts for accounts, _ in runs]
    by_key = [{result.scenario.key: result for result in results} for _, results in runs]
    rows = []
    for key, first in by_key[0].items():
        found = [results.get(key) for results in by_key]
        cells = [f"({key}) {first.scenario.title}"]
        for result in found:
            cells += ([f"{result.percentile(50):.1f}", f"{result.percentile(95):.1f}"]
                      if result else ["-", "-"])
        last = found[-1]
        cells.append(_ratio(last.percentile(95), first.percentile(95)) if last else "-")
        rows.append(cells)
    header = ["scenario"]
    for accounts in scales:
        header += [f"p50 ms @{accounts:,}", f"p95 ms @{accounts:,}"]
    header.append(f"p95 {scales[-1]:,} / {scales[0]:,}")
    return _table(header, rows)


def fixed(costs: Sequence[Fixed]) -> str:
    """What every request pays besides its own reads, each part timed on its own."""
    rows = [[cost.what, f"{cost.statements:.2f}", f"{cost.median_ms:.2f}", f"{cost.p95_ms:.2f}"]
            for cost in costs]
    return _table(["fixed cost per request (timed directly, in-process)", "SQL/call",
                   "median ms", "p95 ms"], rows)
