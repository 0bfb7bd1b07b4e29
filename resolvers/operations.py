"""Operations bindings: the data-use audit report (auditors)."""

from __future__ import annotations

from resolvers.context import Context
from services import audit_report
from services.audit_report import Report


async def audit_report_of(ctx: Context, period: str, department: str | None) -> Report:
    report = await audit_report.build(ctx.stores.read, period, department,
                                      timezone=ctx.stores.settings.report_timezone)
    async with await ctx.uow() as uow:
        audit_report.record(uow, period, department, "graphql")
    return report
