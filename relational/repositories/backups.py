"""What a backup manifest records of the ledger, and what a restore is checked against."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from relational.identity_models import User
from relational.models import Account, AccountEdge, AuditRecord, Contact, OutboxEvent

_COUNTED = {"accounts": Account, "contacts": Contact, "account_edges": AccountEdge,
            "users": User, "audit_log": AuditRecord, "outbox": OutboxEvent}


async def high_water(session: AsyncSession) -> dict[str, int]:
    """Row counts of the main tables and the last audit seq and outbox id, in one snapshot."""
    statement = select(
        *(select(func.count()).select_from(model).scalar_subquery().label(name)
          for name, model in _COUNTED.items()),
        select(func.coalesce(func.max(AuditRecord.seq), 0)).scalar_subquery().label(
            "max_audit_seq"),
        select(func.coalesce(func.max(OutboxEvent.id), 0)).scalar_subquery().label(
            "max_outbox_id"))
    row = (await session.execute(statement)).mappings().one()
    return {name: int(value) for name, value in row.items()}
