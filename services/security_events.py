"""Abnormal access, recorded as audit records that auditors query: bursts of sensitive reads
and logins from a client address never seen for the user (`security.*`; either puts the login
session behind step-up: its protected fields stay closed until it passes a second factor, see
services/step_up.py), and lookups of records outside the reader's scope (`denied`)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from relational.repositories import accounts as account_repo
from relational.repositories import audit as repo
from relational.repositories import contacts as contact_repo
from relational.repositories import identity as identity_repo
from relational.repositories import rate_limits
from relational.uow import UnitOfWork

_WINDOW = 60


async def check_sensitive_reads(uow: UnitOfWork, actor: str, count: int, limit: int, *,
                                user_id: uuid.UUID | None = None,
                                session_id: uuid.UUID | None = None) -> None:
    """Within the unit of work that records a batch of `count` reads: flag the actor once per
    minute when their reads in the current minute pass `limit` (a counter in the shared,
    unlogged rate-limit table, so it costs one statement). The login session that made the
    reads needs step-up; API tokens (no session, no second factor) are only flagged."""
    epoch = int(datetime.now(UTC).timestamp())
    window = datetime.fromtimestamp(epoch - epoch % _WINDOW, UTC)
    read = await rate_limits.hit(uow.session, f"reads:{actor}", window, count)
    if read <= limit:
        return
    if await repo.recently_recorded(uow.session, actor, "security.sensitiveReadBurst", _WINDOW):
        return
    uow.audit("security.sensitiveReadBurst", [],
              after={"actor": actor, "readsLastMinute": read, "limit": limit})
    if user_id is not None and session_id is not None:
        await _require_step_up(uow, user_id, session_id, "security.sensitiveReadBurst")


async def check_login_address(uow: UnitOfWork, user_id: uuid.UUID, username: str,
                              ip: str | None, session_id: uuid.UUID) -> None:
    """Flag a successful login from an address this user never logged in from before (the
    very first login has nothing to compare with, so it needs no step-up)."""
    seen = await repo.seen_addresses(uow.session, str(user_id))
    if seen and ip not in seen:
        uow.audit("security.newAddress", [str(user_id)],
                  after={"username": username, "ip": ip, "knownAddresses": len(seen)})
        await _require_step_up(uow, user_id, session_id, "security.newAddress")


async def record_hidden_lookups(uow: UnitOfWork, misses: Sequence[tuple[str, uuid.UUID]]) -> None:
    """Lookups by id (`account`, `contact`) that found nothing the reader may see: those of a
    record that exists were aimed outside the reader's scope, and are recorded as `denied` —
    the reader got the same null as for a missing id."""
    wanted = {kind: [found for seen, found in misses if seen == kind]
              for kind in ("account", "contact")}
    existing = {"account": await account_repo.existing(uow.session, wanted["account"]),
                "contact": await contact_repo.existing(uow.session, wanted["contact"])}
    for kind, record_id in dict.fromkeys(misses):
        if record_id in existing.get(kind, set()):
            uow.audit("denied", [str(record_id)],
                      after={"operation": f"{kind}.read", "reason": "outOfScope"})


async def _require_step_up(uow: UnitOfWork, user_id: uuid.UUID, session_id: uuid.UUID,
                           reason: str) -> None:
    await identity_repo.require_step_up(uow.session, session_id, user_id, reason,
                                        datetime.now(UTC))
    uow.audit("auth.stepUpRequired", [str(user_id)],
              after={"session": str(session_id), "reason": reason})
