"""A request counts against its client address until its credential is proven: made-up API
tokens do not each get a fresh quota."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from relational.repositories import rate_limits
from services import rate_limit
from tests.conftest import Api

# One fixed instant: every request of a test falls into the same rate-limit window.
NOW = datetime(2026, 3, 2, 9, 30, 15, tzinfo=UTC)
WINDOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
CREATE_TOKEN = """mutation { apiTokenCreate(input: {name: "erp", permissions: ["account:read"]})
  { secret } }"""
LOGIN = """mutation { login(input: {username: "finance", password: "Demo#2026"}) {
  accessToken } }"""


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rate_limit, "_now", lambda: NOW)


async def _status(api: Api, bearer: str, query: str = "{ __typename }") -> int:
    response = await api.client.post("/graphql", json={"query": query},
                                      headers={"Authorization": f"Bearer {bearer}"})
    if response.status_code == 429:
        assert response.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    return response.status_code


async def test_made_up_api_tokens_share_the_address_quota(api: Api, frozen: None) -> None:
    limit = api.stores.settings.anonymous_rate_limit_per_minute
    statuses = [await _status(api, f"crm_{secrets.token_urlsafe(24)}") for _ in range(130)]
    assert [status == 429 for status in statuses] == [False] * limit + [True] * (130 - limit)
    # Logging in with a made-up token is counted against the address too.
    assert await _status(api, f"crm_{secrets.token_urlsafe(24)}", LOGIN) == 429


async def test_a_real_api_token_has_its_own_quota(api: Api, frozen: None) -> None:
    token = (await api.data(CREATE_TOKEN))["apiTokenCreate"]["secret"]
    limit = api.stores.settings.anonymous_rate_limit_per_minute
    async with api.stores.ledger.sessionmaker() as session, session.begin():
        await rate_limits.hit(session, "ip:127.0.0.1", WINDOW, limit)  # the address is spent
    assert await _status(api, token) == 200
    assert await _status(api, f"crm_{secrets.token_urlsafe(24)}") == 429
    # Revoked: proves nothing.
    async with api.stores.ledger.sessionmaker() as session, session.begin():
        await session.execute(text("UPDATE api_tokens SET revoked_at = now()"))
    assert await _status(api, token) == 429
