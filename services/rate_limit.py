"""Per-identity request rate limit, shared across app instances through the ledger."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from auth import secrets as tokens
from relational.ledger import Ledger
from relational.repositories import identity as identity_repo
from relational.repositories import rate_limits
from relational.uow import RequestMeta
from services.errors import RateLimited
from services.identity.sessions import API_PREFIX
from settings import Settings

WINDOW_SECONDS = 60


def _now() -> datetime:
    return datetime.now(UTC)


async def identity_key(
    session: AsyncSession, settings: Settings, bearer: str | None, ip: str | None
) -> tuple[str, int]:
    """Whose quota a request uses, and how large it is. A request counts against its client
    address until its credential is proven: a valid access token (its signature) counts
    against its user (all their sessions together), an API token against itself once its
    hash is found among the active tokens (one indexed lookup), anything else — no bearer, a
    made-up or revoked one — against the address, with the anonymous limit."""
    if bearer and bearer.startswith(f"{API_PREFIX}_"):
        digest = tokens.token_hash(bearer)
        if await identity_repo.api_token_active(session, digest):
            return f"token:{digest[:32]}", settings.rate_limit_per_minute
    elif bearer:
        try:
            claims = tokens.read_access_token(settings.jwt_secret.get_secret_value(), bearer)
            return f"user:{claims.user_id}", settings.rate_limit_per_minute
        except tokens.InvalidToken:
            pass
    return f"ip:{ip or 'unknown'}", settings.anonymous_rate_limit_per_minute


async def check(ledger: Ledger, settings: Settings, bearer: str | None, ip: str | None) -> None:
    now = _now()
    epoch = int(now.timestamp())
    window_start = datetime.fromtimestamp(epoch - epoch % WINDOW_SECONDS, UTC)
    async with ledger.uow(RequestMeta(actor="system:rateLimit", ip=ip)) as uow:
        key, limit = await identity_key(uow.session, settings, bearer, ip)
        hits = await rate_limits.hit(uow.session, key, window_start)
    if hits > limit:
        raise RateLimited(retry_after=WINDOW_SECONDS - epoch % WINDOW_SECONDS)
