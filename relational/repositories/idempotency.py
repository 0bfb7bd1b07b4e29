"""Idempotency keys: written in the same transaction as the write they name."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class StoredKey:
    operation: str
    fingerprint: str
    result: dict[str, Any]


# Requests with the same key queue behind each other until the first one's transaction ends,
# so a concurrent retry finds the first result instead of racing it.
_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:actor || ' ' || :key, 9))")
_FORGET = text("DELETE FROM idempotency_keys WHERE actor = :actor AND created_at < :before")
_FIND = text("SELECT operation, fingerprint, result FROM idempotency_keys "
             "WHERE actor = :actor AND key = :key")
_REMEMBER = text(
    """
    INSERT INTO idempotency_keys (actor, key, operation, fingerprint, result, created_at)
    VALUES (:actor, :key, :operation, :fingerprint, CAST(:result AS jsonb), :now)
    """
)


async def claim(
    session: AsyncSession, actor: str, key: str, expired_before: datetime
) -> StoredKey | None:
    """Lock the actor's key for this transaction (forgetting the actor's expired keys) and
    return what an earlier request stored under it, if any."""
    params = {"actor": actor, "key": key}
    await session.execute(_LOCK, params)
    await session.execute(_FORGET, {"actor": actor, "before": expired_before})
    row = (await session.execute(_FIND, params)).one_or_none()
    if row is None:
        return None
    return StoredKey(operation=row.operation, fingerprint=row.fingerprint, result=row.result)


async def remember(
    session: AsyncSession, actor: str, key: str, *, operation: str, fingerprint: str,
    result: dict[str, Any], now: datetime,
) -> None:
    await session.execute(_REMEMBER, {
        "actor": actor, "key": key, "operation": operation, "fingerprint": fingerprint,
        "result": json.dumps(result), "now": now})
