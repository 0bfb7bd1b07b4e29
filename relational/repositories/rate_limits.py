"""Fixed-window request counters."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# Counting and forgetting the key's older windows in one statement keeps the table at about
# one row per active identity.
_HIT = text(
    """
    WITH forget AS (
        DELETE FROM rate_counters WHERE key = :key AND window_start < :window_start
    )
    INSERT INTO rate_counters AS c (key, window_start, hits)
    VALUES (:key, :window_start, :amount)
    ON CONFLICT (key, window_start) DO UPDATE SET hits = c.hits + :amount
    RETURNING hits
    """
)


async def hit(session: AsyncSession, key: str, window_start: datetime, amount: int = 1) -> int:
    """Add `amount` to the key's counter of this window; the new total."""
    return int(await session.scalar(
        _HIT, {"key": key, "window_start": window_start, "amount": amount}) or 0)
