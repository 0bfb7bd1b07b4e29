"""Company relationship edges; OWNS writes are serialised so traversal rules hold under races."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import delete, func, literal, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from relational.models import AccountEdge

OWNS = "OWNS"

# One lock for every ownership write, across all app instances: the cycle and share rules
# read the whole ownership graph, so two concurrent writes must not both pass their checks.
_OWNERSHIP_LOCK = 0x6F776E73  # "owns"


async def lock_ownership(session: AsyncSession) -> None:
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _OWNERSHIP_LOCK})


async def is_descendant_or_self(
    session: AsyncSession, ancestor: uuid.UUID, candidate: uuid.UUID
) -> bool:
    """Whether `candidate` is `ancestor` or reachable from it along OWNS edges."""
    if ancestor == candidate:
        return True
    below = (
        select(AccountEdge.target_id.label("id"))
        .where(AccountEdge.kind == OWNS, AccountEdge.source_id == ancestor)
        .cte("below", recursive=True)
    )
    below = below.union(
        select(AccountEdge.target_id).where(
            AccountEdge.kind == OWNS, AccountEdge.source_id == below.c.id
        )
    )
    found = await session.scalar(select(literal(True)).where(below.c.id == candidate).limit(1))
    return bool(found)


async def shares_held_in(
    session: AsyncSession, child: uuid.UUID, *, excluding_parent: uuid.UUID | None = None
) -> Decimal:
    statement = select(func.coalesce(func.sum(AccountEdge.share_pct), 0)).where(
        AccountEdge.kind == OWNS, AccountEdge.target_id == child
    )
    if excluding_parent is not None:
        statement = statement.where(AccountEdge.source_id != excluding_parent)
    return Decimal(await session.scalar(statement) or 0)


async def get(
    session: AsyncSession, kind: str, source: uuid.UUID, target: uuid.UUID
) -> AccountEdge | None:
    statement = select(AccountEdge).where(
        AccountEdge.kind == kind, AccountEdge.source_id == source, AccountEdge.target_id == target
    )
    return (await session.scalars(statement)).one_or_none()


async def remove(session: AsyncSession, edge: AccountEdge) -> None:
    await session.execute(delete(AccountEdge).where(AccountEdge.id == edge.id))
