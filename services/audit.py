"""`crm audit verify`: the whole audit log checked against its SM3 hash chain."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import RowMapping

from auth.audit_chain import ChainRow, verifier
from auth.audit_verifier import Problem
from relational.ledger import Reader
from relational.repositories import audit as audit_log

_BATCH = 1000


@dataclass(frozen=True)
class AuditReport:
    records: int
    problems: list[Problem]


async def verify(read: Reader, *, batch: int = _BATCH) -> AuditReport:
    """Walk the chain in seq order, `batch` records at a time, in one snapshot: records
    appended meanwhile are simply not part of this check."""
    checker = verifier(context=batch)
    records = 0
    async with read() as session:
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        async for rows in audit_log.walk(session, batch):
            checker.feed(_chain_row(row) for row in rows)
            records += len(rows)
    return AuditReport(records, checker.finish())


def _chain_row(row: RowMapping) -> ChainRow:
    return ChainRow(id=row["id"], seq=row["seq"], prev_hash=row["prev_hash"], hash=row["hash"],
                    content={name: row[name] for name in audit_log.CONTENT})
