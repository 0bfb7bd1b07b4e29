"""Idempotency keys of create mutations. A client that lost the answer to a write (an outage,
OUTCOME_UNKNOWN) retries with the same key and gets the first result, never a duplicate. The
key is stored in the transaction of the write itself: it exists exactly when the write does.
Keys are per actor, and forgotten after IDEMPOTENCY_RETENTION_HOURS."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from auth.actor import Actor
from relational.repositories import idempotency as repo
from relational.uow import UnitOfWork
from services.errors import BadUserInput
from settings import Settings

MAX_KEY_LENGTH = 200
FIELD = "idempotencyKey"
T = TypeVar("T")


@dataclass(frozen=True)
class Key:
    """A client's idempotency key and how long it is remembered."""

    value: str
    retention: timedelta

    @classmethod
    def given(cls, value: str | None, settings: Settings) -> Key | None:
        if value is None:
            return None
        cleaned = value.strip()
        if not cleaned or len(cleaned) > MAX_KEY_LENGTH or not cleaned.isprintable():
            raise BadUserInput(f"`{FIELD}` must be 1 to {MAX_KEY_LENGTH} printable characters",
                               field=FIELD)
        return cls(cleaned, timedelta(hours=settings.idempotency_retention_hours))


def fingerprint(operation: str, request: Mapping[str, Any], secret: bytes | None = None) -> str:
    """A digest of what was asked (canonical JSON), to tell a retry from a different request;
    keyed (HMAC) when the request holds protected values, so the digest reveals nothing."""
    canonical = json.dumps({"operation": operation, "request": request}, sort_keys=True,
                           ensure_ascii=False, default=str, separators=(",", ":")).encode()
    if secret is not None:
        return hmac.new(secret, canonical, hashlib.sha256).hexdigest()
    return hashlib.sha256(canonical).hexdigest()


def _owner(actor: Actor) -> str:
    return str(actor.user_id) if actor.user_id is not None else actor.label


async def once(
    uow: UnitOfWork, actor: Actor, key: Key | None, operation: str, request: Mapping[str, Any],
    *, run: Callable[[], Awaitable[T]], result: Callable[[T], dict[str, Any]],
    replay: Callable[[dict[str, Any]], Awaitable[T]], secret: bytes | None = None,
) -> T:
    """`run()` the write, unless this actor already made it under `key`: then `replay` its
    stored `result`. The same key with a different request is refused."""
    if key is None:
        return await run()
    now = datetime.now(UTC)
    digest = fingerprint(operation, request, secret)
    found = await repo.claim(uow.session, _owner(actor), key.value, now - key.retention)
    if found is not None:
        if (found.operation, found.fingerprint) != (operation, digest):
            raise BadUserInput(f"this `{FIELD}` was already used for a different request",
                               field=FIELD)
        return await replay(found.result)
    uow.idempotency_key = key.value
    value = await run()
    await repo.remember(uow.session, _owner(actor), key.value, operation=operation,
                        fingerprint=digest, result=result(value), now=now)
    return value
