"""Per-identity request rate limit, shared across app instances through the ledger."""

from __future__ import annotations

from datetime import UTC, datetime

from auth import secrets as tokens
from relational.repositories import rate_limits
from services.errors import RateLimited
from services.identity import API_PREFIX
from services.stores import Stores

WINDOW_SECONDS = 60


def identity_key(stores: Stores, bearer: str | None, ip: str | None) -> tuple[str, int]:
    """Whose quota a request uses, and how large it is. A valid access token counts against
    its user (all their sessions together); an API token against itself; anything else
    against the client address."""
    settings = stores.settings
    if bearer and bearer.startswith(f"{API_PREFIX}_"):
        return f"token:{tokens.token_hash(bearer)[:32]}", settings.rate_limit_per_minute
    if bearer:
        try:
            claims = tokens.read_access_token(settings.jwt_secret.get_secret_value(), bearer)
            return f"user:{claims.user_id}", settings.rate_limit_per_minute
        except tokens.InvalidToken:
            pass
    return f"ip:{ip or 'unknown'}", settings.anonymous_rate_limit_per_minute


async def check(stores: Stores, bearer: str | None, ip: str | None) -> None:
    key, limit = identity_key(stores, bearer, ip)
    now = datetime.now(UTC)
    epoch = int(now.timestamp())
    window_start = datetime.fromtimestamp(epoch - epoch % WINDOW_SECONDS, UTC)
    async with stores.sessionmaker() as session, session.begin():
        hits = await rate_limits.hit(session, key, window_start)
    if hits > limit:
        raise RateLimited(retry_after=WINDOW_SECONDS - epoch % WINDOW_SECONDS)
