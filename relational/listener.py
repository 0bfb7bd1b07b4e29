"""`LISTEN` on the ledger: wakes the dispatcher of every app instance when any instance commits
outbox events (the commit's trigger sends `NOTIFY outbox`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import psycopg
from psycopg import sql

from relational.database import libpq_conninfo

log = logging.getLogger(__name__)


async def listen(database_url: str, channel: str, on_notify: Callable[[], None], *,
                 retry_seconds: float) -> None:
    """Call `on_notify` for each notification on `channel`, reconnecting forever."""
    dsn = libpq_conninfo(database_url)
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
                await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
                on_notify()  # anything committed while disconnected
                async for _ in conn.notifies():
                    on_notify()
        except (psycopg.Error, OSError) as error:
            log.warning("outbox listener reconnecting: %s", error)
            await asyncio.sleep(retry_seconds)
