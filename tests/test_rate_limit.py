"""Per-identity rate limit: RATE_LIMITED with a retry-after, per user across sessions."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from services import rate_limit
from services.errors import RateLimited
from tests.conftest import Api
from tests.test_identity import token_of


async def test_anonymous_callers_are_limited_per_address(api: Api) -> None:
    limit = api.stores.settings.anonymous_rate_limit_per_minute
    await api.scalar("SELECT 1")
    bodies = await asyncio.gather(*(api.client.post("/graphql", json={"query": "{ __typename }"})
                                    for _ in range(limit + 3)))
    limited = [response for response in bodies if response.status_code == 429]
    assert len(limited) >= 3  # a minute boundary may reset the window once
    body = limited[0].json()
    error = body["errors"][0]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert 1 <= error["extensions"]["retryAfter"] <= 60
    assert limited[0].headers["retry-after"] == str(error["extensions"]["retryAfter"])
    assert error["extensions"]["requestId"] == limited[0].headers["x-request-id"]


async def test_a_user_quota_spans_all_their_sessions(api: Api) -> None:
    # The demo users exist (the `api` fixture seeds them); two logins, two sessions.
    first, second = await token_of(api, "finance"), await token_of(api, "finance")
    stores = replace(api.stores, settings=api.stores.settings.model_copy(
        update={"rate_limit_per_minute": 3}))
    for token in (first, second, first):
        await rate_limit.check(stores.ledger, stores.settings, token, "10.0.0.1")
    with pytest.raises(RateLimited):
        await rate_limit.check(stores.ledger, stores.settings, second, "10.0.0.2")
    other = await token_of(api, "auditor")
    await rate_limit.check(stores.ledger, stores.settings, other,
                           "10.0.0.1")  # someone else's quota is untouched
