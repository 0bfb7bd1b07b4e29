"""The data-use audit report as a self-contained HTML page (inline CSS and SVG charts: it
opens without a network, from a mail attachment or an archive) and as CSV."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Sequence
from html import escape

from services.audit import neutralised
from services.audit_report import Report, Tally, purposes_text

_STYLE = """
body{font-family:"WenQuanYi Zen Hei","Noto Sans CJK SC","PingFang SC","Microsoft YaHei",
sans-serif;margin:24px;color:#1d2733;background:#fff}
h1{font-size:24px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:2px solid
#2b6cb0;padding-bottom:4px}.meta{color:#555;font-size:13px}
table{border-collapse:collapse;font-size:13px;margin:6px 0}td,th{border:1px solid #cbd5e0;
padding:3px 8px;text-align:left}th{background:#edf2f7}td.n{text-align:right}
.cards{display:flex;gap:12px;flex-wrap:wrap}.card{border:1px solid #cbd5e0;border-radius:6px;
padding:8px 14px;min-width:120px}.card b{display:block;font-size:22px}
.ok{color:#276749;font-weight:bold}.bad{color:#c53030;font-weight:bold}
"""


def _bars(title: str, items: Sequence[tuple[str, int]], *, width: int = 640) -> str:
    """A horizontal bar chart as inline SVG."""
    if not items:
        return f"<p>{escape(title)}: —</p>"
    top = max(count for _, count in items) or 1
    row, label_w = 22, 190
    height = row * len(items) + 30
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'role="img" aria-label="{escape(title)}">',
             f'<text x="0" y="14" font-size="13" font-weight="bold">{escape(title)}</text>']
    for index, (label, count) in enumerate(items):
        y = 24 + index * row
        length = int((width - label_w - 60) * count / top)
        parts += [f'<text x="0" y="{y + 14}" font-size="12">{escape(label[:24])}</text>',
                  f'<rect x="{label_w}" y="{y + 3}" width="{max(length, 1)}" height="15" '
                  'fill="#3182ce"/>',
                  f'<text x="{label_w + length + 6}" y="{y + 15}" font-size="12">{count}</text>']
    return "".join([*parts, "</svg>"])


def _columns(title: str, items: Sequence[tuple[str, int]], *, width: int = 640) -> str:
    """A column chart (reads per day) as inline SVG."""
    if not items:
        return f"<p>{escape(title)}: —</p>"
    top = max(count for _, count in items) or 1
    chart_h, step = 120, min(28, max(8, (width - 40) // max(len(items), 1)))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{chart_h + 50}" '
             f'role="img" aria-label="{escape(title)}">',
             f'<text x="0" y="14" font-size="13" font-weight="bold">{escape(title)}</text>']
    for index, (label, count) in enumerate(items):
        bar = int(chart_h * count / top)
        x = 30 + index * step
        parts += [f'<rect x="{x}" y="{24 + chart_h - bar}" width="{step - 3}" height="{bar}" '
                  f'fill="#38a169"><title>{escape(label)}: {count}</title></rect>',
                  f'<text x="{x}" y="{chart_h + 40}" font-size="9">{escape(label[-2:])}</text>']
    return "".join([*parts, "</svg>"])


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    if not rows:
        return "<p>无 (none)</p>"
    head = "".join(f"<th>{escape(name)}</th>" for name in headers)
    body = "".join(
        "<tr>" + "".join(f'<td class="n">{cell}</td>' if isinstance(cell, int)
                         else f"<td>{escape(str(cell))}</td>" for cell in row) + "</tr>"
        for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _tally_rows(tallies: Sequence[Tally]) -> list[list[object]]:
    return [[tally.kind, tally.actor, tally.department, tally.count, tally.previous]
            for tally in tallies]


def html(report: Report) -> str:
    """The whole report as one HTML page."""
    totals = report.totals
    scope = report.department or "全部部门 (all departments)"
    chain = (f'<span class="ok">完整 intact</span> — {report.chain.records} 条记录 records'
             if report.chain.intact else
             f'<span class="bad">已损坏 BROKEN</span> — {len(report.chain.problems)} 个问题: '
             + escape("; ".join(report.chain.problems)))
    per_department: Counter[str] = Counter()
    for row in report.reads:
        per_department[row.department] += row.reads
    readers: Counter[str] = Counter()
    for row in report.reads:
        readers[row.reader] += row.reads
    cards = [("敏感数据读取 sensitive reads", totals["sensitive_reads"]),
             ("上期 previous period", totals["previous_sensitive_reads"]),
             ("读取人 readers", totals["readers"]), ("拒绝 refusals", totals["refusals"]),
             ("安全事件 security events", totals["security_events"]),
             ("二次验证 step-ups", totals["step_ups"]), ("导出 exports", totals["exports"])]
    sections = [
        f"<h1>《数据使用审计报告》 Data-use audit report {escape(report.period)}</h1>",
        f'<p class="meta">范围 scope: {escape(scope)} · 期间 period: '
        f"{report.since.isoformat()} – {report.until.isoformat()} · 生成 generated: "
        f"{report.generated_at.isoformat(timespec='seconds')}</p>",
        '<div class="cards">' + "".join(f"<div class=card>{escape(name)}<b>{value}</b></div>"
                                        for name, value in cards) + "</div>",
        f"<h2>审计链校验 Audit chain verification</h2><p>{chain}</p>",
        "<h2>敏感数据读取 Who read which sensitive data, how often, for what purpose</h2>",
        _columns("每日读取 reads per day",
                 [(day.isoformat(), count) for day, count in report.daily_reads]),
        _bars("各部门读取 reads per department", per_department.most_common()),
        _bars("读取最多的人 top readers", readers.most_common(10)),
        _table(["读取人 reader", "部门 department", "字段 field", "结果 outcome",
                "次数 reads", "记录数 records", "目的 stated purposes"],
               [[row.reader, row.department, row.field, row.outcome, row.reads, row.records,
                 purposes_text(row.purposes)] for row in report.reads]),
        "<h2>各部门读取最多 Top readers per department</h2>",
        _table(["部门 department", "读取人 reader", "次数 reads"],
               [[name, reader, count] for name, rows in report.top_readers.items()
                for reader, count in rows]),
        "<h2>拒绝与越权探测 Refusals and probing attempts</h2>",
        _table(["操作 attempted", "人员 actor", "部门 department", "次数 count",
                "上期 previous"], _tally_rows(report.refusals)),
        "<h2>安全事件 Security events</h2>",
        _table(["事件 event", "人员 actor", "部门 department", "次数 count", "上期 previous"],
               _tally_rows(report.security_events)),
        "<h2>二次验证与登录失败 Step-ups and failed logins</h2>",
        _table(["事件 event", "人员 actor", "部门 department", "次数 count", "上期 previous"],
               _tally_rows(report.step_ups)),
        "<h2>导出 Exports</h2>",
        _table(["时间 at", "人员 actor", "部门 department", "操作 operation", "内容 detail"],
               [[item.at.isoformat(timespec="seconds"), item.actor, item.department,
                 item.operation, item.detail] for item in report.exports]),
        "<h2>异常（与上期相比） Anomalies against the previous period</h2>",
        _table(["人员 actor", "部门 department", "规则 rule", "本期 current", "上期 previous"],
               [[item.reader, item.department, item.rule, item.current, item.previous]
                for item in report.anomalies]),
    ]
    return ("<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
            f"<title>数据使用审计报告 {escape(report.period)}</title><style>{_STYLE}</style>"
            "</head><body>" + "\n".join(sections) + "</body></html>\n")


CSV_COLUMNS = ("section", "actor", "department", "item", "outcome", "count", "records",
               "previous", "detail")


def csv_text(report: Report) -> str:
    """The report's figures as CSV rows, one section after the other."""
    rows: list[list[object]] = [
        ["chain", "", "", "intact" if report.chain.intact else "BROKEN", "",
         report.chain.records, "", "", "; ".join(report.chain.problems)]]
    rows += [["reads", row.reader, row.department, row.field, row.outcome, row.reads,
              row.records, "", purposes_text(row.purposes)] for row in report.reads]
    rows += [["top_readers", reader, name, "", "", count, "", "", ""]
             for name, readers in report.top_readers.items() for reader, count in readers]
    for section, tallies in (("refusals", report.refusals),
                             ("security_events", report.security_events),
                             ("step_ups", report.step_ups)):
        rows += [[section, tally.actor, tally.department, tally.kind, "", tally.count, "",
                  tally.previous, ""] for tally in tallies]
    rows += [["exports", item.actor, item.department, item.operation, "", 1, "", "",
              f"{item.at.isoformat()} {item.detail}"] for item in report.exports]
    rows += [["anomalies", item.reader, item.department, item.rule, "", item.current, "",
              item.previous, ""] for item in report.anomalies]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    writer.writerows([neutralised(cell) for cell in row] for row in rows)
    return buffer.getvalue()
