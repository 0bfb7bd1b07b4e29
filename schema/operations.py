"""The data-use audit report (《数据使用审计报告》) for auditors: figures, the self-contained HTML
page and the CSV, for one month."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from resolvers import operations as resolve
from schema.accounts import Info
from schema.directives import guard
from services import audit_report_render
from services.audit_report import Report, Tally, purposes_text


@strawberry.type(description="Reads of one protected field by one reader with one outcome.")
class AuditFieldReads:
    reader: str = strawberry.field(description="Who read (user name or token:<name>).")
    department: str = strawberry.field(description="The reader's department.")
    field: str = strawberry.field(description="Type and field, e.g. Contact.phone.")
    outcome: str = strawberry.field(description="clear, masked or denied.")
    reads: int = strawberry.field(description="How many times.")
    records: int = strawberry.field(description="How many distinct records.")
    purposes: str = strawberry.field(description="Stated purposes (X-Audit-Reason) × count.")


@strawberry.type(description="A count of one kind of event by one actor, and last period's.")
class AuditTally:
    kind: str = strawberry.field(description="What happened (operation, refusal reason).")
    actor: str = strawberry.field(description="Who.")
    department: str = strawberry.field(description="Their department.")
    count: int = strawberry.field(description="This period.")
    previous: int = strawberry.field(description="The previous period.")


def tally(item: Tally) -> AuditTally:
    return AuditTally(kind=item.kind, actor=item.actor, department=item.department,
                      count=item.count, previous=item.previous)


@strawberry.type(description="An export of audit data.")
class AuditExport:
    at: datetime = strawberry.field(description="When (UTC).")
    actor: str = strawberry.field(description="Who.")
    department: str = strawberry.field(description="Their department.")
    operation: str = strawberry.field(description="audit.export or audit.report.")
    detail: str = strawberry.field(description="What was exported (filters, period).")


@strawberry.type(description="A reader whose figures stand out against the previous period.")
class AuditAnomaly:
    reader: str = strawberry.field(description="Who.")
    department: str = strawberry.field(description="Their department.")
    rule: str = strawberry.field(description="reads or refusals (see the README).")
    current: int = strawberry.field(description="This period.")
    previous: int = strawberry.field(description="The previous period.")


@strawberry.type(description="A department's most active readers of sensitive data.")
class AuditTopReaders:
    department: str = strawberry.field(description="The department.")
    readers: list[AuditTally] = strawberry.field(description="At most five, most reads first.")


@strawberry.type(description="The audit chain check made with the report.")
class AuditChainCheck:
    intact: bool = strawberry.field(description="Every record links to the one before.")
    records: int = strawberry.field(description="Records checked.")
    problems: list[str] = strawberry.field(description="The first problems found.")


@strawberry.type(description="The data-use audit report of one month.")
class AuditReport:
    report: strawberry.Private[Report]
    period: str = strawberry.field(description="YYYY-MM.")
    department: str | None = strawberry.field(description="Scope; null: all departments.")
    since: datetime = strawberry.field(description="Start of the period (inclusive).")
    until: datetime = strawberry.field(description="End of the period (exclusive).")
    sensitive_reads: int = strawberry.field(description="Protected-field reads in the period.")
    previous_sensitive_reads: int = strawberry.field(description="In the previous period.")
    reads: list[AuditFieldReads] = strawberry.field(description="Who read what, how often, "
                                                                "why.")
    refusals: list[AuditTally] = strawberry.field(description="Refusals and probing attempts.")
    security_events: list[AuditTally] = strawberry.field(description="security.* records.")
    step_ups: list[AuditTally] = strawberry.field(description="Step-ups and failed logins.")
    exports: list[AuditExport] = strawberry.field(description="Exports of audit data.")
    top_readers: list[AuditTopReaders] = strawberry.field(description="Per department.")
    anomalies: list[AuditAnomaly] = strawberry.field(description="Against the last period.")
    chain: AuditChainCheck = strawberry.field(description="The audit chain verification.")

    @strawberry.field(description="The report as a self-contained HTML page (inline charts).")
    def html(self) -> str:
        return audit_report_render.html(self.report)

    @strawberry.field(description="The report's figures as CSV.")
    def csv(self) -> str:
        return audit_report_render.csv_text(self.report)

    @classmethod
    def of(cls, report: Report) -> AuditReport:
        return cls(
            report=report, period=report.period, department=report.department,
            since=report.since, until=report.until,
            sensitive_reads=report.totals["sensitive_reads"],
            previous_sensitive_reads=report.totals["previous_sensitive_reads"],
            reads=[AuditFieldReads(reader=row.reader, department=row.department,
                                   field=row.field, outcome=row.outcome, reads=row.reads,
                                   records=row.records, purposes=purposes_text(row.purposes))
                   for row in report.reads],
            refusals=[tally(item) for item in report.refusals],
            security_events=[tally(item) for item in report.security_events],
            step_ups=[tally(item) for item in report.step_ups],
            exports=[AuditExport(at=item.at, actor=item.actor, department=item.department,
                                 operation=item.operation, detail=item.detail)
                     for item in report.exports],
            top_readers=[AuditTopReaders(department=name, readers=[
                AuditTally(kind="reads", actor=reader, department=name, count=count,
                           previous=0) for reader, count in readers])
                for name, readers in report.top_readers.items()],
            anomalies=[AuditAnomaly(reader=item.reader, department=item.department,
                                    rule=item.rule, current=item.current,
                                    previous=item.previous) for item in report.anomalies],
            chain=AuditChainCheck(intact=report.chain.intact, records=report.chain.records,
                                  problems=list(report.chain.problems)))


PeriodArg = Annotated[str, strawberry.argument(description="The month, YYYY-MM.")]
DepartmentArg = Annotated[str | None, strawberry.argument(
    description="Only readers of this department and its sub-departments.")]


async def audit_report(info: Info, period: PeriodArg,
                       department: DepartmentArg = None) -> AuditReport:
    return AuditReport.of(await resolve.audit_report_of(info.context, period, department))


@strawberry.type
class OperationsQueries:
    audit_report = strawberry.field(
        resolver=audit_report, extensions=guard("audit:read"),
        description="The data-use audit report of a month (auditors): who read which "
                    "sensitive data how often and why, refusals, security events, step-ups, "
                    "exports, top readers, anomalies, the chain check; also as HTML and CSV "
                    "(`crm audit report --period YYYY-MM`).")
