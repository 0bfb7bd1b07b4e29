"""What the data-use audit report reads: the audit records of a period, streamed, and who
belongs to which department."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import datetime

from sqlalchemy import RowMapping, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from relational.identity_models import Department, User
from relational.models import AuditRecord

_COLUMNS = (AuditRecord.seq, AuditRecord.at, AuditRecord.actor, AuditRecord.operation,
            AuditRecord.after, AuditRecord.reason)


async def period(session: AsyncSession, since: datetime, until: datetime,
                 operations: Sequence[str], prefixes: Sequence[str],
                 batch: int) -> AsyncIterator[Sequence[RowMapping]]:
    """Records in [since, until) whose operation is one of `operations` or starts with one of
    `prefixes`, in chain order, `batch` at a time."""
    wanted = or_(AuditRecord.operation.in_(list(operations)),
                 *(AuditRecord.operation.startswith(prefix, autoescape=True)
                   for prefix in prefixes))
    statement = (select(*_COLUMNS).where(AuditRecord.at >= since, AuditRecord.at < until, wanted)
                 .order_by(AuditRecord.seq).execution_options(yield_per=batch))
    result = await session.stream(statement)
    async for rows in result.mappings().partitions(batch):
        yield rows


async def departments(session: AsyncSession) -> tuple[dict[uuid.UUID, tuple[str, uuid.UUID | None]],
                                                      dict[str, list[uuid.UUID]]]:
    """Every department (name, parent), and each user's departments by username."""
    tree = {row.id: (row.name, row.parent_id) for row in
            (await session.execute(select(Department.id, Department.name,
                                          Department.parent_id))).all()}
    members = {row.username: list(row.department_ids) for row in
               (await session.execute(select(User.username, User.department_ids))).all()}
    return tree, members
