"""The periodic data-use audit report (《数据使用审计报告》): who read which sensitive data,
how often and for what stated purpose; refusals and probing; security events and step-ups;
exports; top readers per department; anomalies against the previous period; and whether the
audit chain verifies. Figures come from the audit log alone (`read.sensitive`, `denied`,
`security.*`, `auth.*`, `*.export`, `audit.report`), so the report proves what the log holds.

Anomalies (rules, documented in the README): a reader with at least `ANOMALY_MIN_READS`
sensitive reads and at least `ANOMALY_FACTOR` times as many as in the previous period (or
none then); a reader with at least `ANOMALY_MIN_REFUSALS` refusals, more than twice as many as
in the previous period.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import RowMapping

from relational.ledger import Reader
from relational.repositories import audit_report as repo
from relational.uow import UnitOfWork
from services import audit
from services.errors import BadUserInput

ANOMALY_MIN_READS = 20
ANOMALY_FACTOR = 3
ANOMALY_MIN_REFUSALS = 5
TOP_READERS = 5
NO_PURPOSE = "(未说明 none stated)"
_PERIOD = re.compile(r"(\d{4})-(\d{2})")
_OPERATIONS = ("denied", "read.sensitive", "audit.report", "audit.export")
_PREFIXES = ("security.", "auth.stepUp", "auth.loginFailed", "auth.lockout", "auth.loginLocked")
_BATCH = 2000


@dataclass(frozen=True)
class FieldReads:
    reader: str
    department: str
    field: str  # "Contact.phone"
    outcome: str  # clear | masked | denied
    reads: int
    records: int  # distinct records
    purposes: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Tally:
    """A count of one kind of event by one actor (refusals, security events, step-ups)."""

    kind: str
    actor: str
    department: str
    count: int
    previous: int = 0


@dataclass(frozen=True)
class Export:
    at: datetime
    actor: str
    department: str
    operation: str
    detail: str


@dataclass(frozen=True)
class Anomaly:
    reader: str
    department: str
    rule: str
    current: int
    previous: int


@dataclass(frozen=True)
class ChainCheck:
    intact: bool
    records: int
    problems: tuple[str, ...]


@dataclass(frozen=True)
class Report:
    period: str
    department: str | None
    since: datetime
    until: datetime
    generated_at: datetime
    reads: list[FieldReads]
    refusals: list[Tally]
    security_events: list[Tally]
    step_ups: list[Tally]
    exports: list[Export]
    top_readers: dict[str, list[tuple[str, int]]]
    anomalies: list[Anomaly]
    daily_reads: list[tuple[date, int]]
    chain: ChainCheck
    totals: dict[str, int] = field(default_factory=dict)


def period_bounds(period: str, zone: ZoneInfo) -> tuple[datetime, datetime, str]:
    """[start, end) of a month `YYYY-MM` in `zone`, and the previous month's name."""
    match = _PERIOD.fullmatch(period)
    if match is None or not 1 <= int(match.group(2)) <= 12:
        raise BadUserInput("`period` must be a month, YYYY-MM (e.g. 2026-11)", field="period")
    year, month = int(match.group(1)), int(match.group(2))
    start = datetime(year, month, 1, tzinfo=zone)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=zone)
    before = start - timedelta(days=1)
    return start, end, f"{before.year:04d}-{before.month:02d}"


class _People:
    """Who belongs to which department (by the audit log's actor label)."""

    def __init__(self, tree: Mapping[uuid.UUID, tuple[str, uuid.UUID | None]],
                 members: Mapping[str, list[uuid.UUID]]) -> None:
        self.tree, self.members = tree, members

    def department(self, actor: str | None) -> str:
        if not actor or actor.startswith("system:"):
            return "(系统 system)"
        if actor.startswith("token:"):
            return "(API 令牌 token)"
        ids = self.members.get(actor) or []
        return self.tree[ids[0]][0] if ids and ids[0] in self.tree else "(无部门 none)"

    def subtree(self, name: str) -> set[uuid.UUID]:
        roots = {key for key, (title, _) in self.tree.items() if title == name}
        if not roots:
            raise BadUserInput(f"no department named {name!r}", field="department")
        found, grew = set(roots), True
        while grew:
            more = {key for key, (_, parent) in self.tree.items() if parent in found} - found
            found |= more
            grew = bool(more)
        return found

    def member(self, actor: str | None, departments: set[uuid.UUID] | None) -> bool:
        if departments is None:
            return True
        return bool(set(self.members.get(actor or "", [])) & departments)


@dataclass
class _Period:
    """Aggregates of one period's records."""

    reads: dict[tuple[str, str, str], list[str]] = field(default_factory=lambda: defaultdict(list))
    purposes: dict[tuple[str, str, str], Counter[str]] = field(
        default_factory=lambda: defaultdict(Counter))
    per_reader: Counter[str] = field(default_factory=Counter)
    refusals: Counter[tuple[str, str]] = field(default_factory=Counter)
    security: Counter[tuple[str, str]] = field(default_factory=Counter)
    step_ups: Counter[tuple[str, str]] = field(default_factory=Counter)
    exports: list[tuple[datetime, str, str, str]] = field(default_factory=list)
    daily: Counter[date] = field(default_factory=Counter)

    def add(self, row: RowMapping, zone: ZoneInfo) -> None:
        actor, operation = row["actor"] or "anonymous", row["operation"]
        after: dict[str, Any] = row["after"] or {}
        if operation == "read.sensitive":
            for group in after.get("reads") or []:
                key = (actor, f"{group.get('type')}.{group.get('field')}",
                       str(group.get("outcome")))
                records = [str(record) for record in group.get("records") or []]
                self.reads[key].extend(records)
                self.purposes[key][row["reason"] or NO_PURPOSE] += len(records)
                self.per_reader[actor] += len(records)
                self.daily[row["at"].astimezone(zone).date()] += len(records)
        elif operation == "denied":
            why = after.get("reason") or after.get("permission") or "refused"
            what = f"{after.get('operation', '?')} ({why})"
            self.refusals[(what, actor)] += 1
        elif operation.startswith("security."):
            self.security[(operation, actor)] += 1
        elif operation.startswith("auth."):
            self.step_ups[(operation, actor)] += 1
        else:
            detail = ", ".join(f"{key}={value}" for key, value in sorted(after.items()))
            self.exports.append((row["at"], actor, operation, detail[:200]))


async def _collect(read: Reader, since: datetime, until: datetime, people: _People,
                   departments: set[uuid.UUID] | None, zone: ZoneInfo) -> _Period:
    found = _Period()
    async with read() as session:
        async for rows in repo.period(session, since, until, _OPERATIONS, _PREFIXES, _BATCH):
            for row in rows:
                if people.member(row["actor"], departments):
                    found.add(row, zone)
    return found


def _tallies(current: Counter[tuple[str, str]], previous: Counter[tuple[str, str]],
             people: _People) -> list[Tally]:
    return [Tally(kind, actor, people.department(actor), count, previous.get((kind, actor), 0))
            for (kind, actor), count in sorted(current.items(), key=lambda item: (-item[1],
                                                                                 item[0]))]


def _anomalies(now: _Period, before: _Period, people: _People) -> list[Anomaly]:
    found = [Anomaly(reader, people.department(reader), "reads", count,
                     before.per_reader.get(reader, 0))
             for reader, count in now.per_reader.items()
             if count >= ANOMALY_MIN_READS
             and count >= ANOMALY_FACTOR * before.per_reader.get(reader, 0)]
    refused_now: Counter[str] = Counter()
    refused_before: Counter[str] = Counter()
    for (_, actor), count in now.refusals.items():
        refused_now[actor] += count
    for (_, actor), count in before.refusals.items():
        refused_before[actor] += count
    found += [Anomaly(actor, people.department(actor), "refusals", count, refused_before[actor])
              for actor, count in refused_now.items()
              if count >= ANOMALY_MIN_REFUSALS and count > 2 * refused_before[actor]]
    return sorted(found, key=lambda item: (item.rule, -item.current, item.reader))


def _reads(now: _Period, people: _People) -> list[FieldReads]:
    rows = [FieldReads(reader, people.department(reader), name, outcome, len(records),
                       len(set(records)),
                       tuple(sorted(now.purposes[(reader, name, outcome)].items(),
                                    key=lambda item: (-item[1], item[0]))))
            for (reader, name, outcome), records in now.reads.items()]
    return sorted(rows, key=lambda row: (-row.reads, row.reader, row.field, row.outcome))


def _top(now: _Period, people: _People) -> dict[str, list[tuple[str, int]]]:
    by_department: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for reader, count in sorted(now.per_reader.items(), key=lambda item: (-item[1], item[0])):
        by_department[people.department(reader)].append((reader, count))
    return {name: readers[:TOP_READERS] for name, readers in sorted(by_department.items())}


async def build(read: Reader, period: str, department: str | None, *,
                timezone: str) -> Report:
    """The report of the month `period` (in `timezone`), for readers of `department` and its
    sub-departments (all readers when None)."""
    zone = ZoneInfo(timezone)
    since, until, previous_name = period_bounds(period, zone)
    previous_since, _, _ = period_bounds(previous_name, zone)
    async with read() as session:
        people = _People(*await repo.departments(session))
    wanted = people.subtree(department) if department else None
    now = await _collect(read, since, until, people, wanted, zone)
    before = await _collect(read, previous_since, since, people, wanted, zone)
    verified = await audit.verify(read)
    reads = _reads(now, people)
    report = Report(
        period=period, department=department, since=since, until=until,
        generated_at=datetime.now(UTC), reads=reads,
        refusals=_tallies(now.refusals, before.refusals, people),
        security_events=_tallies(now.security, before.security, people),
        step_ups=_tallies(now.step_ups, before.step_ups, people),
        exports=[Export(at, actor, people.department(actor), operation, detail)
                 for at, actor, operation, detail in now.exports],
        top_readers=_top(now, people), anomalies=_anomalies(now, before, people),
        daily_reads=sorted(now.daily.items()),
        chain=ChainCheck(not verified.problems, verified.records,
                         tuple(str(problem) for problem in verified.problems[:20])))
    report.totals.update({
        "sensitive_reads": sum(row.reads for row in reads),
        "readers": len(now.per_reader),
        "previous_sensitive_reads": sum(before.per_reader.values()),
        "refusals": sum(now.refusals.values()),
        "security_events": sum(now.security.values()),
        "step_ups": sum(now.step_ups.values()),
        "exports": len(now.exports)})
    return report


def record(uow: UnitOfWork, period: str, department: str | None, output: str) -> None:
    """Producing the report is itself a read of audit data: on record, like an export."""
    uow.audit("audit.report", [], after={"period": period, "department": department,
                                         "format": output})


def purposes_text(purposes: Sequence[tuple[str, int]]) -> str:
    return "; ".join(f"{purpose} ×{count}" for purpose, count in purposes)
